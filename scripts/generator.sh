#!/usr/bin/env bash
# Prints the CMake generator to configure BUILD_DIR with: the one its cache
# already records, else Ninja when installed, else Unix Makefiles. Every
# script that configures a build folder asks here, so scripts that share a
# folder (the README's two commands share build/) never disagree.
#   scripts/generator.sh BUILD_DIR
set -euo pipefail
cache="${1:?usage: scripts/generator.sh BUILD_DIR}/CMakeCache.txt"
if [ -f "${cache}" ]; then
  cached="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "${cache}")"
  if [ -n "${cached}" ]; then
    echo "${cached}"
    exit 0
  fi
fi
if command -v ninja > /dev/null; then echo Ninja; else echo "Unix Makefiles"; fi
