"""Bad input becomes the right lola.LolaError subclass with the C library's message, never a
crash; and the ABI check refuses a mismatch."""

import subprocess
import sys

import numpy as np
import pytest

import lola


def test_missing_file(tmp_path):
    path = tmp_path / "absent.gguf"
    with pytest.raises(lola.LolaIOError) as err:
        lola.Model(path)
    e = err.value
    assert isinstance(e, OSError) and isinstance(e, lola.LolaError)
    assert e.status == lola._lola.LOLA_ERR_IO and e.status_name == "LOLA_ERR_IO"
    assert "absent.gguf" in e.message and str(e).startswith("LOLA_ERR_IO: ")


def test_corrupt_file(tmp_path, tiny_model_path):
    data = bytearray(open(tiny_model_path, "rb").read())
    path = tmp_path / "truncated.gguf"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(lola.CorruptDataError) as err:
        lola.Model(path)
    assert err.value.status == lola.CorruptDataError.status and err.value.message
    path.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(lola.CorruptDataError):
        lola.Model(path)
    with pytest.raises(lola.CorruptDataError):
        lola.describe(path)


def test_token_out_of_range(model):
    with model.create_context() as ctx:
        with pytest.raises(lola.InvalidArgumentError, match="97|range|vocab") as err:
            ctx.feed([1, 2, 97])
        assert err.value.status == lola._lola.LOLA_ERR_INVALID_ARGUMENT
        assert ctx.n_past == 0  # nothing fed
        with pytest.raises(lola.InvalidArgumentError):
            ctx.feed([-1])
        with pytest.raises(lola.InvalidArgumentError):
            ctx.feed([])
        with pytest.raises(lola.InvalidArgumentError, match="int32"):
            ctx.feed(np.array([2**40]))
        with pytest.raises(TypeError):
            ctx.feed([1.5])
        with pytest.raises(lola.SizeMismatchError):
            ctx.feed(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(lola.InvalidArgumentError):
        model.detokenize([500])
    with pytest.raises(lola.InvalidArgumentError):
        model.token_to_piece(-3)


def test_bad_context_params(model):
    with pytest.raises(lola.InvalidArgumentError) as err:
        model.create_context(chunk_size=0)
    assert "chunk" in err.value.message
    with pytest.raises(lola.InvalidArgumentError):
        model.create_context(n_threads=0)
    with pytest.raises(TypeError, match="unknown parameter 'window'"):
        model.create_context(window=4)
    with pytest.raises(ValueError, match="unknown Scoring"):
        model.create_context(scoring="best")
    with pytest.raises(lola.InvalidArgumentError):
        lola.Sampler(repeat_penalty=-1.0)


def test_closed_handles(tiny_model_path):
    model = lola.Model(tiny_model_path)
    ctx = model.create_context()
    ctx.feed([1])
    layer = lola.Layer(n_heads=1, n_kv_heads=1, head_dim=4)
    sampler = lola.Sampler()
    for obj in (ctx, layer, sampler, model):
        obj.close()
        obj.close()  # idempotent
        assert obj.closed
    calls = [lambda: ctx.feed([1]), lambda: ctx.logits, lambda: ctx.save_state(),
             lambda: ctx.clone(), lambda: list(ctx.generate(2)), lambda: model.tokenize("a"),
             lambda: model.info, lambda: model.create_context(), lambda: layer.info,
             lambda: layer.feed(*(np.zeros((1, 1, 4), np.float32),) * 3),
             lambda: sampler.sample(np.zeros(4, np.float32))]
    for call in calls:
        with pytest.raises(lola.NullHandleError, match="after close"):
            call()
    with pytest.raises(lola.NullHandleError):
        with ctx:
            pass


def test_context_manager_closes(tiny_model_path):
    with lola.Model(tiny_model_path) as model:
        with model.create_context() as ctx:
            pass
        assert ctx.closed
    assert model.closed


def test_binding_errors_carry_their_class_status():
    # Errors the binding raises itself (no C call) carry the status of their class.
    e = lola.NullHandleError("closed")
    assert e.status == lola._lola.LOLA_ERR_NULL_HANDLE and e.status_name == "LOLA_ERR_NULL_HANDLE"
    assert str(e) == "LOLA_ERR_NULL_HANDLE: closed"
    assert lola.LolaError("x").status_name == "LOLA_ERR_UNKNOWN"
    assert lola.error_class(lola._lola.LOLA_OK) is lola.LolaError


def test_check_abi():
    lola.check_abi(2, 2, 2)
    with pytest.raises(ImportError, match="ABI mismatch.*version 3.*ABI 2.*expects ABI 2"):
        lola.check_abi(3, 2, 2)
    with pytest.raises(ImportError, match="ABI"):
        lola.check_abi(2, 2, 1)
    assert lola.abi_version() == lola._lola.LOLA_ABI_VERSION == lola.EXPECTED_ABI_VERSION == 2


def test_import_refuses_abi_mismatch():
    # Re-import the package with the loaded extension reporting another library ABI: `import
    # lola` itself refuses, saying which version is which.
    code = (
        "import sys, lola._lola as ext\n"
        "ext.abi_version = lambda: ext.LOLA_ABI_VERSION + 1\n"
        "for name in [n for n in sys.modules if n == 'lola' or (n.startswith('lola.') and n != 'lola._lola')]:\n"
        "    del sys.modules[name]\n"
        "try:\n"
        "    import lola\n"
        "    print('accepted')\n"
        "except ImportError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wrong = lola._lola.LOLA_ABI_VERSION + 1
    assert f"refused: liblola ABI mismatch: the loaded library has ABI version {wrong}" in out.stdout, \
        out.stdout + out.stderr
    assert "accepted" not in out.stdout
