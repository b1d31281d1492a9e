#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image: it installs what the course needs (through the
# course's own dependency script) and builds the grader.
#
# IOLAB_SKIP_DEPS=1 skips the installation (the self-test, on a machine
# that has everything already).
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${IOLAB_SKIP_DEPS:-}" ]; then
    apt-get update
    bash grader/deps.sh
fi
make -s --no-print-directory grader
echo "setup.sh: the grader is built"
