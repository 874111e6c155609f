#!/usr/bin/env bash
# run_cli_tests.sh LOLA_BINARY SOURCE_DIR SCRATCH TINY_MODEL PYTHON: the `lola` command as a
# user runs it: usage errors exit 2, bad files exit 1 with the field named, `lola eval` on the
# tiny test model writes its report, summary and plots (PYTHON has matplotlib), and, on the
# default model (fetched by scripts/fetch_default_model.sh; those checks are skipped only when
# the fetch fails), run, info, passkey, cache and eval work.
set -uo pipefail
lola="$1"; src="$2"; scratch="$3"; tiny="$4"; python="$5"
rm -rf "$scratch" && mkdir -p "$scratch"
fails=0
expect() {  # expect NAME STATUS PATTERN -- command...
  local name="$1" want="$2" pattern="$3"; shift 4
  local out status
  out=$("$@" 2>&1); status=$?
  if [ "$status" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $status (want $want), output:"; echo "$out" | head -20; fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
expect "no arguments" 2 "usage" -- "$lola"
expect "help" 0 "lola passkey" -- "$lola" --help
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$lola" frobnicate
expect "missing -m" 2 "missing --m" -- "$lola" info
expect "unknown option" 2 "unknown option --bogus" -- "$lola" info -m x --bogus
expect "missing file" 1 "cannot read '/nonexistent.gguf'" -- "$lola" info -m /nonexistent.gguf
printf 'GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x0f\x00\x00\x00\x00\x00\x00\x00\x00' > "$scratch/bad.gguf"
expect "corrupt file" 1 "tensor_count" -- "$lola" info -m "$scratch/bad.gguf"
# --adapter (every command): the tiny model's adapter, written beside it by tests/.
adapter="${tiny%.gguf}.adapter.gguf"
expect "info with an adapter" 0 "with LoLA feature maps \(from the adapter\)" -- "$lola" info -m "$tiny" --adapter "$adapter"
expect "a model as its own adapter" 1 "not a LoLA adapter" -- "$lola" info -m "$tiny" --adapter "$tiny"
expect "perplexity, variants" 0 "\| LoLA, performer \| 2 \| 64 \|" -- \
  "$lola" perplexity -m "$tiny" -f "$src/README.md" --ctx 64 --windows 2 --variants full,lola,performer --chunk 8 --sparse 8
expect "perplexity with the adapter" 0 "LoLA chunk 4, sparse 3" -- \
  "$lola" perplexity -m "$tiny" --adapter "$adapter" -f "$src/README.md" --ctx 64 --windows 1
expect "perplexity, short text" 1 "fewer than --ctx" -- "$lola" perplexity -m "$tiny" -f "$scratch/bad.gguf" --ctx 4096
expect "perplexity, hybrid" 0 "\| LoLA \+ full in L1 \| 1 \| 32 \|" -- \
  "$lola" perplexity -m "$tiny" -f "$src/README.md" --ctx 64 --windows 1 --variants hybrid --full-layers 1 --chunk 8 --sparse 8
expect "perplexity, hybrid without layers" 2 "needs the layers that keep full attention" -- \
  "$lola" perplexity -m "$tiny" -f "$src/README.md" --ctx 64 --variants hybrid
expect "perplexity, hybrid past the layers" 2 "past the model's 2 layers" -- \
  "$lola" perplexity -m "$tiny" -f "$src/README.md" --ctx 64 --variants hybrid --full-layers 2
expect "perplexity, bad variant" 2 "unknown variant 'flash'" -- "$lola" perplexity -m "$tiny" -f "$src/README.md" --variants flash
expect "missing adapter" 1 "adapter '/nonexistent.gguf'" -- "$lola" info -m "$tiny" --adapter /nonexistent.gguf
expect "bad option value" 2 "--attention must be one of" -- "$lola" run -m x -p y --attention sideways
expect "bad device" 2 "--device: 'gpu' is not cpu, cuda or cuda:N" -- "$lola" run -m x -p y --device gpu
# The CUDA backend cannot run models yet: the refusal names the device and says why.
expect "cuda refused" 1 "CUDA device 0" -- "$lola" run -m /nonexistent.gguf -p y --device cuda:0

# lola eval: bad settings are usage errors named before the model loads; a run writes
# report.json, summary.md and the plots; without matplotlib the report is still written.
expect "eval, unknown task" 2 "unknown task 'needles'" -- "$lola" eval -m x --tasks passkey,needles
expect "eval, unknown variant" 2 "unknown variant 'flash'" -- "$lola" eval -m x --variants lola,flash
expect "eval, bad depth list" 2 "--depths: 'deep' is not a number" -- "$lola" eval -m x --depths 0.5,deep
expect "eval, bad depth" 2 "needle depths must lie in \[0, 1\]" -- "$lola" eval -m "$tiny" --depths 1.5
expect "eval, missing model" 1 "cannot open GGUF file '/nonexistent.gguf'" -- "$lola" eval -m /nonexistent.gguf
tiny_eval=(eval -m "$tiny" --tasks passkey,niah_multikey,mqar,perplexity,cost --variants full,window,lola
           --lengths 700,900 --depths 0,1 --lambdas 4,8 --chunk 8 --sparse 8 --cost-lengths 700 --decode-tokens 4
           --haystack "$src/README.md" --ppl-windows 1)
if "$python" -c "import matplotlib" 2>/dev/null; then
  expect "eval on the tiny model" 0 "wrote .*report.json, .*summary.md and [5-9] plot" -- \
    "$lola" "${tiny_eval[@]}" -o "$scratch/eval" --python "$python"
  for f in report.json summary.md heatmap_passkey.png heatmap_mqar.png accuracy_vs_budget.png cache_vs_length.png residency.png; do
    if [ -s "$scratch/eval/$f" ]; then echo "ok   eval wrote $f"; else echo "FAIL eval did not write $f"; fails=$((fails + 1)); fi
  done
else  # (the ci preset's configure requires matplotlib, so this is never skipped there)
  echo "skip: '$python' has no matplotlib: lola eval runs without its plots"
  expect "eval on the tiny model" 0 "wrote .*report.json, .*summary.md and 0 plot" -- \
    "$lola" "${tiny_eval[@]}" -o "$scratch/eval" --no-plots
fi
expect "eval summary" 0 "### niah_multikey" -- cat "$scratch/eval/summary.md"
expect "eval, no matplotlib" 1 "plots not drawn: .*pip install matplotlib" -- \
  "$lola" "${tiny_eval[@]}" -o "$scratch/eval2" --python /bin/false
expect "eval, no matplotlib, report kept" 0 "lola-eval-report" -- cat "$scratch/eval2/report.json"

echo "fetching the default model for the end-to-end checks (skipped if that fails)"
if model=$("$src/scripts/fetch_default_model.sh"); then
  expect "info on the default model" 0 "liblola runs it: llama, 30 layers" -- "$lola" info -m "$model"
  expect "the shipped adapter fits the default model" 0 "with LoLA feature maps \(from the adapter\)" -- \
    "$lola" info -m "$model" --adapter "$src/models/smollm2-135m-instruct.lola.gguf"
  expect "run, greedy" 0 "Paris" -- "$lola" run -m "$model" -p "What is the capital of France?" --temp 0 -n 12
  expect "run, bad token budget" 2 "-n must be" -- "$lola" run -m "$model" -p hi -n -3
  expect "passkey, short" 0 "\| 256 \| 0.50 \| 1/1 \|" -- "$lola" passkey -m "$model" --lengths 256 --depths 0.5 --trials 1
  expect "eval, short" 0 "\| full attention \| 100% \| \*\*100%\*\* \|" -- "$lola" eval -m "$model" --tasks passkey \
    --variants full,lola --lengths 256 --depths 0.5 --lambdas none --no-residency -o "$scratch/eval-default" --no-plots
  expect "cache" 0 "layer 3 \(" -- "$lola" cache -m "$model" -p "$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..30})" --chunk 16 --sparse 8 --layer 3 --no-color
else
  echo "skip: the default model could not be fetched"
fi
[ "$fails" = 0 ] && echo "all CLI checks passed" || { echo "$fails CLI check(s) failed"; exit 1; }
