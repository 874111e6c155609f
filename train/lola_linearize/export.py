"""The trained maps out as GGUF: a small LoLA adapter, or a full model.

- **Adapter** (docs/ADAPTERS.md, format 1): only ``blk.N.lola.fmap_q.weight`` /
  ``fmap_k.weight`` (F32, ne = [F/2, head_dim, n_head]) and ``blk.N.lola.window_factors``
  (F32, [n_head]), the LoLA defaults (C, lambda, mixing, feature map) and the base model's
  fingerprint (``lola.Model(base).fingerprint``), so liblola refuses it on any other model.
- **Full**: every metadata field and tensor of the base unchanged (bytes copied, quantized
  tensors stay quantized), its own ``lola.*`` fields and tensors replaced by the new ones:
  the layout ``lola-convert`` writes and the runtime reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

ADAPTER_VERSION = 1


def _gguf():
    import gguf
    return gguf


def _writer(path, arch):
    """A GGUFWriter that can also copy an empty array (a vocabulary without merges has one,
    and liblola reads the key's presence); the gguf package refuses to write those."""
    g = _gguf()

    class Writer(g.GGUFWriter):
        def _pack_val(self, val, vtype, add_vtype, sub_type=None):
            if vtype == g.GGUFValueType.ARRAY and sub_type is not None and len(val) == 0:
                out = self._pack("I", vtype) if add_vtype else b""
                return out + self._pack("I", sub_type) + self._pack("Q", 0)
            return super()._pack_val(val, vtype, add_vtype, sub_type)

    return Writer(str(path), arch)


def _lola_metadata(w, layers, chunk: int, sparse: int, mixing: str):
    w.add_string("lola.feature_map", "hedgehog")
    w.add_uint32("lola.feature_dim", int(layers[0].feature_dim))
    w.add_uint32("lola.chunk_size", int(chunk))
    w.add_uint32("lola.sparse_capacity", int(sparse))
    w.add_string("lola.mixing", mixing)


def _lola_tensors(w, layers):
    for l, layer in enumerate(layers):
        p = f"blk.{l}.lola."
        # numpy (H, d, F/2) C order is GGUF ne = [F/2, d, H]: z = x^T W_h per head
        w.add_tensor(p + "fmap_q.weight", np.ascontiguousarray(layer.fmap_q.detach().cpu().numpy(), np.float32))
        w.add_tensor(p + "fmap_k.weight", np.ascontiguousarray(layer.fmap_k.detach().cpu().numpy(), np.float32))
        w.add_tensor(p + "window_factors", np.ascontiguousarray(layer.window_factors.detach().cpu().numpy(), np.float32))


def read_maps(path) -> dict:
    """The LoLA tensors of an adapter (or full model) this module wrote, as the float32 state of
    a list of HedgehogLayer ("N.fmap_q", "N.fmap_k", "N.window_factors"); ValueError for a
    ``blk.N.lola.*`` tensor it does not write."""
    names = {"fmap_q.weight": "fmap_q", "fmap_k.weight": "fmap_k", "window_factors": "window_factors"}
    state = {}
    for t in _gguf().GGUFReader(str(path)).tensors:
        head, _, rest = t.name.partition(".lola.")
        if not head.startswith("blk.") or not rest:
            continue
        if rest not in names:
            raise ValueError(f"unexpected tensor {t.name}")
        state[f"{head[4:]}.{names[rest]}"] = np.array(t.data, dtype=np.float32)
    return state


def _finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_adapter(path, layers: Sequence, hp, base_fingerprint: int, chunk: int, sparse: int,
                  mixing: str) -> Path:
    g = _gguf()
    w = g.GGUFWriter(str(path), hp.architecture)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lola")
    w.add_name(f"{hp.name} LoLA adapter")
    w.add_uint32("lola.adapter.version", ADAPTER_VERSION)
    w.add_uint64("lola.adapter.base_fingerprint", int(base_fingerprint))
    w.add_string("lola.adapter.base_name", hp.name)
    w.add_block_count(hp.n_layer)
    w.add_head_count(hp.n_head)
    w.add_uint32("lola.adapter.head_dim", hp.head_dim)
    _lola_metadata(w, layers, chunk, sparse, mixing)
    _lola_tensors(w, layers)
    _finish(w)
    return Path(path)


def write_full(path, base_path, layers: Sequence, hp, chunk: int, sparse: int, mixing: str,
               replace=None) -> Path:
    """``replace``: tensors by name (float32 [rows, cols]) written as F16 instead of the base's
    (the LoRA stage's merged projections)."""
    replace = replace or {}
    g = _gguf()
    r = g.GGUFReader(str(base_path))
    w = _writer(path, hp.architecture)
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key.startswith("lola."):
            continue
        vtype = f.types[0]
        sub = None
        if vtype == g.GGUFValueType.ARRAY:  # parts: key length, key, type, item type, count, ...
            sub = g.GGUFValueType(int(f.parts[3][0]))
        w.add_key_value(key, f.contents(), vtype, sub_type=sub)
    _lola_metadata(w, layers, chunk, sparse, mixing)
    for t in r.tensors:
        if ".lola." in t.name:
            continue
        if t.name in replace:
            w.add_tensor(t.name, np.ascontiguousarray(replace[t.name], dtype=np.float16))
            continue
        data = np.asarray(t.data)
        if t.tensor_type in (g.GGMLQuantizationType.F32, g.GGMLQuantizationType.F16):
            w.add_tensor(t.name, data, raw_shape=list(reversed([int(x) for x in t.shape])))
        else:
            w.add_tensor(t.name, data, raw_shape=data.shape, raw_dtype=t.tensor_type)
    _lola_tensors(w, layers)
    _finish(w)
    return Path(path)
