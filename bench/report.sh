#!/bin/sh
# Renders the report (report.json, hits.csv, report.html, VICS) of
# 1,000,000 synthetic items with 100,000 hits (test data: generated paths
# and hashes, no files) and prints the time of each pass (wall and CPU)
# and the peak memory.
# Usage: bench/report.sh   (from the workspace root)
set -eu
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo test -p nigehbaan-scan --lib \
    report::html_scale::million_items -- --ignored --nocapture 2>&1 |
    grep -E "report of|test result"
