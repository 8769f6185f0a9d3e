#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The chain benchmark: the zstd (level 1) and archive chains against
# the plain file sink and the minimal receiver, on the same 1 GiB
# memory-like image, alternately, in one run. Prints the ratios of the
# medians against the file sink: throughput, CPU seconds, peak RSS and
# output size. Options go to bench.sh (--build, --out, --runs, ...).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/bench.sh" --only sinks "$@"
