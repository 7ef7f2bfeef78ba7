# Sourced by every Loupe script: picks the JDK and the CUDA toolchain in one place.
# Usage: source "$(dirname "$0")/env.sh"   (sets LOUPE_ROOT, JAVA_HOME, PATH, LOUPE_CUDA_ROOT)

LOUPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LOUPE_ROOT

# Elasticsearch 9.2 classes are Java 21 class files: Maven, javac and the test node need 21+.
loupe_java_major() {  # prints the feature version of the JDK at $1, or 0
  local release="$1/release"
  [ -x "$1/bin/javac" ] && [ -f "$release" ] || { echo 0; return; }
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release" | head -n1
}

loupe_select_jdk() {
  local candidate
  if [ -n "${JAVA_HOME:-}" ] && [ "$(loupe_java_major "$JAVA_HOME")" -ge 21 ] 2>/dev/null; then
    return 0
  fi
  # Newest first: prefer an installed JDK 25, then 21+.
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sed 's:/$::' | sort -rV); do
    if [ "$(loupe_java_major "$candidate")" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "loupe: no JDK 21+ found under /usr/lib/jvm (run scripts/bootstrap)" >&2
  return 1
}

loupe_select_jdk && export PATH="$JAVA_HOME/bin:$PATH"
# The integration test's Elasticsearch node runs on the same JDK (the integ-test zip has none).
export ES_JAVA_HOME="${ES_JAVA_HOME:-${JAVA_HOME:-}}"

# Rust (the tokenizer crate): cargo from the PATH, else a rustup install in the account's
# own home or in /usr/local. rustup finds its toolchains through HOME, so a HOME set
# elsewhere (CI, a clean-room run) would otherwise leave rustup with "no default toolchain".
loupe_cargo_works() { cargo --version >/dev/null 2>&1; }
loupe_select_rust() {
  loupe_cargo_works && return 0
  local account_home rustup_home cargo_bin
  account_home="$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6)"
  for rustup_home in "${RUSTUP_HOME:-}" "$account_home/.rustup" /usr/local/rustup; do
    [ -n "$rustup_home" ] && [ -d "$rustup_home/toolchains" ] || continue
    for cargo_bin in "${CARGO_HOME:-$HOME/.cargo}/bin" "$account_home/.cargo/bin" /usr/local/cargo/bin; do
      if [ -x "$cargo_bin/cargo" ] && RUSTUP_HOME="$rustup_home" "$cargo_bin/cargo" --version >/dev/null 2>&1; then
        export RUSTUP_HOME="$rustup_home" PATH="$cargo_bin:$PATH"
        return 0
      fi
    done
  done
  return 1
}
loupe_select_rust || true

# CUDA: the project-local toolchain from PyPI wheels (scripts/install-cuda-toolchain), if any.
LOUPE_CUDA_ROOT="${LOUPE_CUDA_ROOT:-$LOUPE_ROOT/.toolchain/cuda}"
export LOUPE_CUDA_ROOT
if [ -x "$LOUPE_CUDA_ROOT/bin/nvcc" ]; then
  export PATH="$LOUPE_CUDA_ROOT/bin:$PATH"
fi

# Maven: quiet JDK 25 warnings from Maven's own libraries; keep ~/.m2 outside the clone.
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow -Xmx1g}"
