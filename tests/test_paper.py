"""rgan_tf.paper holds the Robust GAN paper's numbers once: they are the paper's (checked against
its text when the shared folder beside the repository has it), and every other table of paper
numbers in the package (`reproduce`, `zoo`) is read from it."""
import os

import pytest

from conftest import REPO
from rgan_tf import paper, reproduce, zoo

PAPER_TEXT = os.environ.get(
    "RGAN_TF_PAPER_TEXT", os.path.join(REPO, "..", "shared", "paper", "robust-gan-paper.txt"))

# How the paper's text labels each row (Tables 1 and 2: one line per model; Table 3: one line per
# variant, with a column per family).
TABLE1_LABELS = {"dcgan": "DCGAN (Radford, Metz, and Chintala 2015)",
                 "sngan": "SNGAN (Miyato et al. 2018)", "bwgan": "BWGAN (Adler and Lunz 2018)",
                 "wgan_gp_res": "WGAN-GP-res (Gulrajani et al. 2017)",
                 "rgan_wgan_gp_res": "RGAN (WGAN-GP-res)"}
TABLE2_LABELS = {"sngan_cond": "SNGAN", "rgan_sngan_cond": "RGAN (SNGAN)"}
TABLE3_LABELS = {"off": "Baseline (without robust training)",
                 "random": "Baseline (with random noise)",
                 "generator": "Robust training on generator only",
                 "discriminator": "Robust training on discriminator only",
                 "both": "Robust training on generator & discriminator"}
TABLE3_COLUMNS = ("wgan_gp", "wgan_gp_res", "dcgan", "bwgan")

# Config -> where its IS and FID in zoo's table come from.
ZOO_SOURCES = {
    "cifar10/dcgan": paper.TABLE1[("dcgan", "cifar10")],
    "cifar10/dcgan_rgan": (paper.TABLE3["dcgan"]["both"], "-"),
    "cifar10/wgan_gp": (paper.TABLE3["wgan_gp"]["off"], "-"),
    "cifar10/wgan_gp_rgan": (paper.TABLE3["wgan_gp"]["both"], "-"),
    "cifar10/wgan_gp_resnet": paper.TABLE1[("wgan_gp_res", "cifar10")],
    "cifar10/wgan_gp_resnet_rgan": paper.TABLE1[("rgan_wgan_gp_res", "cifar10")],
    "cifar10/sngan_resnet": paper.TABLE1[("sngan", "cifar10")],
    "cifar10/bwgan": paper.TABLE1[("bwgan", "cifar10")],
    "cifar10/bwgan_rgan": (paper.TABLE3["bwgan"]["both"], "-"),
    "cifar10/sngan_cond": paper.TABLE2["sngan_cond"],
    "cifar10/sngan_cond_rgan": paper.TABLE2["rgan_sngan_cond"],
    "stl10/dcgan": paper.TABLE1[("dcgan", "stl10")],
    "stl10/wgan_gp_resnet": paper.TABLE1[("wgan_gp_res", "stl10")],
    "stl10/wgan_gp_resnet_rgan": paper.TABLE1[("rgan_wgan_gp_res", "stl10")],
    "stl10/sngan_resnet": paper.TABLE1[("sngan", "stl10")],
}


@pytest.fixture(scope="module")
def paper_lines():
    if not os.path.isfile(PAPER_TEXT):
        pytest.skip(f"The paper's text is not at {PAPER_TEXT} (set RGAN_TF_PAPER_TEXT).")
    with open(PAPER_TEXT, encoding="utf-8") as handle:
        return [line.strip() for line in handle]


def printed_numbers(lines, label):
    """The numbers of the row labelled `label`, without the ± deviations."""
    rows = [line[len(label):].split() for line in lines
            if line.startswith(label + " ") and line[len(label) + 1:][:1].isdigit()]
    assert len(rows) == 1, (label, rows)
    tokens = rows[0]
    return [token for index, token in enumerate(tokens)
            if index == 0 or tokens[index - 1] != "±"
            if token.replace(".", "", 1).isdigit()]


def test_table1_is_the_papers(paper_lines):
    found = {}
    for model, label in TABLE1_LABELS.items():
        numbers = printed_numbers(paper_lines, label)
        half = len(numbers) // 2  # IS per data set, then FID per data set
        for column, data_set in enumerate(("cifar10", "stl10")[:half]):
            found[(model, data_set)] = (numbers[column], numbers[half + column])
    assert found == paper.TABLE1


def test_table2_is_the_papers(paper_lines):
    assert {model: tuple(printed_numbers(paper_lines, label))
            for model, label in TABLE2_LABELS.items()} == paper.TABLE2


def test_table3_is_the_papers(paper_lines):
    found = {family: {} for family in TABLE3_COLUMNS}
    for variant, label in TABLE3_LABELS.items():
        for family, number in zip(TABLE3_COLUMNS, printed_numbers(paper_lines, label),
                                  strict=True):
            found[family][variant] = number
    assert found == paper.TABLE3
    assert tuple(TABLE3_LABELS) == paper.TABLE3_VARIANTS


def test_reproduce_reads_the_numbers_from_paper():
    assert reproduce.VARIANTS == paper.TABLE3_VARIANTS
    assert reproduce.PAPER_TABLE1 == {key: (float(a), float(b))
                                      for key, (a, b) in paper.TABLE1.items()}
    assert reproduce.PAPER_TABLE2 == {key: (float(a), float(b))
                                      for key, (a, b) in paper.TABLE2.items()}
    assert reproduce.PAPER_TABLE3 == {family: {variant: float(value)
                                               for variant, value in scores.items()}
                                      for family, scores in paper.TABLE3.items()}


def test_zoo_reads_the_numbers_from_paper():
    for name, row in zoo.PAPER_ROWS.items():
        assert (row.inception_score, row.fid) == ZOO_SOURCES.get(name, ("-", "-")), name
    assert zoo.PAPER_ROWS["cifar10/dcgan"].row.endswith(
        f"(Table 3 baseline: IS {paper.TABLE3['dcgan']['off']})")
