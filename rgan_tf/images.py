"""Image grids: the picture a person looks at to judge a generator."""
import math

import numpy as np
from PIL import Image

from rgan_tf import files


def to_uint8(images):
    """float images in [-1, 1] `[B, H, W, C]` -> uint8 `[B, H, W, C]` in [0, 255]."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=2):
    """Tiles `[B, H, W, C]` images in [-1, 1] into one uint8 `[rows*(H+p)+p, cols*(W+p)+p, C]`."""
    images = to_uint8(images)
    if images.ndim != 4:
        raise ValueError(f"Expected images [B, H, W, C], got shape {images.shape}.")
    count, height, width, channels = images.shape
    columns = columns or int(math.ceil(math.sqrt(count)))
    rows = int(math.ceil(count / columns))
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding,
                    channels), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_grid(images, path, columns=None, scale=None):
    """Writes `images` (`[B, H, W, C]` in [-1, 1]) as one PNG grid at `path`; returns `path`.

    Small images are enlarged (nearest neighbour) so that a grid is at least ~512 pixels wide.
    """
    grid = make_grid(images, columns)
    if scale is None:
        scale = max(1, 512 // grid.shape[1])
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale > 1:
        picture = picture.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    with files.atomic_path(path, suffix=".png") as temporary:
        picture.save(temporary)
    return path


def save_png(image, path):
    """Writes one uint8 image `[H, W, C]` (C = 1 or 3) as a PNG at `path`; returns `path`."""
    with files.atomic_path(path, suffix=".png") as temporary:
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(temporary)
    return path
