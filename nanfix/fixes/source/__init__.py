"""How a fix is written into the user's script: `script` (the source and its tree), `text`
(replacements and keyword edits), `calls` (finding the calls the capture recorded), `edits`
(each kind of change writing itself), `diff` (the diff and the snippet) and `apply` (the
patched copy next to the script).
"""
