"""lola-linearize: attention transfer from a softmax Llama GGUF to liblola's LoLA attention.

Modules: ``gguf_llama`` (the frozen teacher, read from GGUF), ``student`` (the runtime's
attention in torch: chunked for training, token by token with the sparse cache for checks),
``data`` (sources, evaluation-text exclusion, splits), ``transfer`` (the resumable training),
``export`` (adapter or full GGUF), ``cli`` (the command).
"""

__version__ = "0.1.0"
