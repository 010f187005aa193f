"""The command-line tools: one module per tool, each its flags, one library call, and `run()`,
the console entry point `pip install` creates (`rgan-train`, `rgan-evaluate`, ...). The files in
`tools/` call the same `run()`.

Flags are defined when a tool runs (`run()`), not at import, so that importing several tools in one
process (documentation, tests) does not define a flag twice.
"""
