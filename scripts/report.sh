#!/bin/sh
# Regenerates the committed reports/ (npm run report): the exploration campaigns first, because
# readiness reads them, then the readiness verdicts, then the default comparisons with the index,
# which opens with the verdicts. reports/survey/ is made separately (deplab survey needs a Linux
# tree; docs/survey.md says which one it read).
set -e
out=reports
seeds=${DEPLAB_CAMPAIGN_SEEDS:-1000}
for driver in mock xe panthor amdxdna panfrost; do
  deplab explore --driver "$driver" --seeds "$seeds" --out "$out"
done
deplab readiness --out "$out"
deplab report --out "$out"
