# Shared by scripts/launch and scripts/test: installs what is missing on a
# Debian 12 machine (apt packages, npm packages, tools, the default model).
# Every step is skipped when its result is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SWITCHBOARD_CACHE="${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}"
# Build outputs live outside the clone so a fresh clone reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SWITCHBOARD_CACHE/target}"
export SWITCHBOARD_MODEL_CACHE="${SWITCHBOARD_MODEL_CACHE:-$SWITCHBOARD_CACHE/models}"
export PATH="$SWITCHBOARD_CACHE/tools/bin:$HOME/.cargo/bin:$PATH"
# Debug builds of the app carry no debug info: a third of the link time and size.
export CARGO_PROFILE_DEV_DEBUG=0

say() { printf '\n==> %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APP_PACKAGES=(build-essential pkg-config curl file cmake clang libclang-dev libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev)
# dbus + gnome-keyring: a real Secret Service for the keyring tests; python3-pip
# fetches llama.cpp's sources (llama-cpp-python sdist) for the llama-server peer.
TEST_PACKAGES=(webkit2gtk-driver xvfb xauth dbus gnome-keyring python3-pip)

install_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

check_toolchains() {
  if ! command -v cargo >/dev/null; then
    echo "Rust is not installed. Install it with rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
  if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    say "installing Node.js 22 from the npm registry (needs Node.js >= 20.19)"
    install_apt nodejs npm
    npm install --silent --prefix "$SWITCHBOARD_CACHE/tools" node@22 >/dev/null
    ln -sf "$SWITCHBOARD_CACHE/tools/node_modules/node/bin/node" "$SWITCHBOARD_CACHE/tools/bin/node"
  fi
}

install_npm() {
  cd "$ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

install_tauri_driver() {
  if ! command -v tauri-driver >/dev/null; then
    say "installing tauri-driver"
    cargo install tauri-driver --version 2.1.0 --locked --quiet --root "$SWITCHBOARD_CACHE/tools"
  fi
}

# The official openai and ollama Python packages (pinned in tests/api), in a
# venv kept in the cache: the API is tested with the clients people use.
install_api_clients() {
  local venv="$SWITCHBOARD_CACHE/venv-api"
  local stamp="$venv/.requirements"
  if ! cmp -s "$ROOT/tests/api/requirements.txt" "$stamp"; then
    say "installing the API test clients (openai, ollama, pytest) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/api/requirements.txt"
    cp "$ROOT/tests/api/requirements.txt" "$stamp"
  fi
  API_PYTEST="$venv/bin/pytest"
  export API_PYTEST
}

fetch_model() {
  say "default model (Gemma 3 270M Q4_K_M, verified by sha256)"
  cargo run --quiet --manifest-path "$ROOT/src-tauri/Cargo.toml" -p switchboard-models --bin fetch-model -- "$SWITCHBOARD_MODEL_CACHE"
}

# Sample photos (scikit-image's, from PyPI) and the generated vision projector
# the vision tests pair with the test model; TEST_PROJECTOR is its path.
fetch_test_assets() {
  say "sample photos (scikit-image wheel on PyPI, verified by sha256) and the test vision projector"
  cargo run --quiet --manifest-path "$ROOT/src-tauri/Cargo.toml" -p switchboard-models --bin fetch-test-images
  TEST_PROJECTOR="$SWITCHBOARD_CACHE/test-projector/mmproj-gemma3-270m-test.gguf"
  cargo run --quiet --manifest-path "$ROOT/src-tauri/Cargo.toml" -p switchboard-models --bin make-test-projector -- "$TEST_PROJECTOR" 640 >/dev/null
  export TEST_PROJECTOR
}

# The app binary as the end-to-end tests and the launcher use it: a debug
# build that serves the built front end from inside the binary.
build_app() {
  say "building the app"
  cd "$ROOT"
  npx tauri build --debug --no-bundle --ci
  APP_BIN="$CARGO_TARGET_DIR/debug/switchboard-desktop"
  export APP_BIN
}

# llama.cpp's own OpenAI-compatible server, serving the test model as the real
# peer of the OpenAI-compatible provider in the Rust tests. Its sources come
# from the llama-cpp-python sdist on PyPI (it vendors a whole llama.cpp tree);
# built once with explicit ISA flags and kept in the cache.
LLAMA_SERVER_VERSION=0.3.36
install_llama_server() {
  local dest="$SWITCHBOARD_CACHE/tools/llama-server-$LLAMA_SERVER_VERSION"
  export SWITCHBOARD_LLAMA_SERVER="$dest/bin/llama-server"
  [ -x "$SWITCHBOARD_LLAMA_SERVER" ] && return 0
  say "building llama.cpp's llama-server $LLAMA_SERVER_VERSION (the OpenAI-compatible test peer; once)"
  local src="$SWITCHBOARD_CACHE/src/llama-cpp-python-$LLAMA_SERVER_VERSION"
  local build="$SWITCHBOARD_CACHE/build/llama-server-$LLAMA_SERVER_VERSION"
  if [ ! -f "$src/vendor/llama.cpp/CMakeLists.txt" ]; then
    local tmp
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==$LLAMA_SERVER_VERSION"
    rm -rf "$src" && mkdir -p "$src"
    tar -xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$src" --strip-components=1
    rm -rf "$tmp"
  fi
  cmake -S "$src/vendor/llama.cpp" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >/dev/null
  cmake --build "$build" --target llama-server -j"$(nproc)" >/dev/null
  install -D -m 755 "$build/bin/llama-server" "$SWITCHBOARD_LLAMA_SERVER"
}
