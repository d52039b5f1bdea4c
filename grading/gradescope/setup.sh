#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (Ubuntu). It installs what `make check` and the grader need.
set -eu
cd /autograder/source
apt-get update -q
atonce/harness/tools/deps.sh build grade
