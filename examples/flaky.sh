#!/bin/sh
# Fails on its first attempt, succeeds on the next: shows kumo's retry with backoff.
echo "attempt $KUMO_ATTEMPT of job $KUMO_JOB"
if [ "$KUMO_ATTEMPT" -lt 2 ]; then
  echo "simulated failure (exit 3)" >&2
  exit 3
fi
echo "succeeded"
