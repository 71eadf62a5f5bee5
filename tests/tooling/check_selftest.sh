#!/usr/bin/env bash
# Proves that scripts/check can fail: a misformatted file and a seeded clang-tidy finding must
# each be caught, and their clean twins must pass. Runs in a scratch directory; touches nothing
# in the tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
check=$root/scripts/check
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

expect() {  # expect pass|fail DESCRIPTION CMD...
  local want=$1 what=$2; shift 2
  if "$@" >"$scratch/out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$want" ]; then
    echo "self-test: $what: expected $want, got $got" >&2
    cat "$scratch/out" >&2
    exit 1
  fi
  echo "self-test: $what: $got as expected"
}

# Files live in the scratch dir but use the repo's configuration files.
cp "$root/.clang-format" "$root/.clang-tidy" "$scratch/"
cat >"$scratch/clean.cc" <<'CC'
namespace edgeid {

int add_one(int value) {
  return value + 1;
}

}  // namespace edgeid
CC
printf 'namespace edgeid {\nint add_one(int value)   {return value+1;}\n}\n' >"$scratch/messy.cc"
expect pass "clang-format accepts a formatted file" "$check" format "$scratch/clean.cc"
expect fail "clang-format rejects a misformatted file" "$check" format "$scratch/messy.cc"

# A seeded finding: a function named against the naming rules and a suspicious memset.
cat >"$scratch/seeded.cc" <<'CC'
#include <cstring>

namespace edgeid {

int AddOne(int value) { return value + 1; }

void wipe(int* values) { std::memset(values, 0, sizeof(values)); }

}  // namespace edgeid
CC
cat >"$scratch/compile_commands.json" <<JSON
[
  {"directory": "$scratch", "file": "$scratch/clean.cc",
   "command": "c++ -std=c++20 -c $scratch/clean.cc -o /dev/null"},
  {"directory": "$scratch", "file": "$scratch/seeded.cc",
   "command": "c++ -std=c++20 -c $scratch/seeded.cc -o /dev/null"}
]
JSON
expect pass "clang-tidy accepts a clean file" "$check" tidy "$scratch" "$scratch/clean.cc"
expect fail "clang-tidy rejects a seeded finding" "$check" tidy "$scratch" "$scratch/seeded.cc"
grep -q "invalid case style for function 'AddOne'" "$scratch/out" ||
  { echo "self-test: the naming finding was not reported" >&2; cat "$scratch/out" >&2; exit 1; }
