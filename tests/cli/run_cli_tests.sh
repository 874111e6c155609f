#!/usr/bin/env bash
# run_cli_tests.sh LOLA_BINARY SOURCE_DIR SCRATCH: the `lola` command as a user runs it: usage
# errors exit 2, bad files exit 1 with the field named, and, on the default model (fetched by
# scripts/fetch_default_model.sh; those checks are skipped only when the fetch fails), run,
# info, passkey and cache work.
set -uo pipefail
lola="$1"; src="$2"; scratch="$3"
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
expect "bad option value" 2 "--attention must be one of" -- "$lola" run -m x -p y --attention sideways
expect "bad device" 2 "--device: 'gpu' is not cpu, cuda or cuda:N" -- "$lola" run -m x -p y --device gpu
# The CUDA backend cannot run models yet: the refusal names the device and says why.
expect "cuda refused" 1 "CUDA device 0" -- "$lola" run -m /nonexistent.gguf -p y --device cuda:0

echo "fetching the default model for the end-to-end checks (skipped if that fails)"
if model=$("$src/scripts/fetch_default_model.sh"); then
  expect "info on the default model" 0 "liblola runs it: llama, 30 layers" -- "$lola" info -m "$model"
  expect "run, greedy" 0 "Paris" -- "$lola" run -m "$model" -p "What is the capital of France?" --temp 0 -n 12
  expect "run, bad token budget" 2 "-n must be" -- "$lola" run -m "$model" -p hi -n -3
  expect "passkey, short" 0 "\| 256 \| 0.50 \| 1/1 \|" -- "$lola" passkey -m "$model" --lengths 256 --depths 0.5 --trials 1
  expect "cache" 0 "layer 3 \(" -- "$lola" cache -m "$model" -p "$(printf 'The quick brown fox jumps over the lazy dog. %.0s' {1..30})" --chunk 16 --sparse 8 --layer 3 --no-color
else
  echo "skip: the default model could not be fetched"
fi
[ "$fails" = 0 ] && echo "all CLI checks passed" || { echo "$fails CLI check(s) failed"; exit 1; }
