// "drf-predicted": weighted DRF across projects and users, as "drf" (queue_order_drf.cc); inside
// one user's queue, the job with the least *aged predicted work* first.
//
// Why predicted work. LAS (core/las.h) ranks jobs by the GPU-time they have attained; pending
// jobs that have not run yet all have none and tie in its top queue, where "drf" serves a user's
// jobs in submit order. The work they will need -- the same two dimensions, GPUs x time, that LAS
// counts once they run (Tiresias, NSDI'19) -- breaks the tie the way shortest-job-first does:
// among jobs that wait together, serving the least work first lowers the mean completion time.
// Here work = the dominant share of the job's request (for a GPU job, its share of the cluster's
// GPUs) x its predicted runtime (QueueEntry::predicted_runtime: the history's estimate capped at
// maxRuntime). Runtimes are predicted by the system, not taken from users, as Tsafrir, Etsion &
// Feitelson propose ("Backfilling Using System-Generated Predictions Rather Than User Runtime
// Estimates", IEEE TPDS 18(6), 2007: user limits are poor and often all alike; their SJBF orders
// by the predictions, which they too cap at the user's limit). When the history gives all of a
// user's jobs the same runtime, the order is fewest GPUs first.
//
// Why ageing, and relative to the median wait. Shortest-first alone starves a large job behind a
// stream of smaller ones. Its work is scaled down linearly with its wait, as Slurm's multifactor
// age factor grows linearly up to PriorityMaxAge, and reaches 0 when the wait reaches
// relative_age x the median wait of the pending jobs of its priority (QueueContext):
//   aged = work x max(0, 1 - wait / (relative_age x median wait))
// Bound: a job that has waited that long ranks 0 -- ahead of every job of its user that has not,
// behind only such jobs submitted earlier -- so once DRF serves its user it is that user's first
// job, and if it is blocked EASY backfill reserves for it. A horizon in absolute seconds (the
// `ageing.after` decorator) cannot tell an overloaded burst, in which every job waits long and
// shortest-first is right, from a job passed over by newcomers; relative to the median wait, jobs
// that wait alike keep their order (the factor is nearly the same for all) and only a job waiting
// far longer than the rest ages to the front. A job without a prediction has infinite work: after
// the predicted ones until it ages; several such jobs go in submit order.
//
// Worked example (relative_age 2, now 100, 64 GPUs, one user, one priority):
//   a: 8 GPUs, predicted 100 s, submitted 90 (wait 10)  work 0.125 x 100 = 12.5
//   b: 32 GPUs, predicted 100 s, submitted 0 (wait 100)  work 0.5 x 100 = 50
//   c: 4 GPUs, no prediction, submitted 95 (wait 5)      work infinite
// Median wait of {5, 10, 100} = 10 -> horizon 20. a: 12.5 x (1 - 10/20) = 6.25; b: wait 100 >= 20
// -> 0; c: 5 < 20 -> infinite. Order: b, a, c. Had b been submitted at 90 too: 50 x 0.5 = 25 ->
// a, b, c.
#pragma once

#include <vector>

#include "core/queue_order.h"

namespace kumo::core::internal {

// The aged predicted work of each of `pending` (same index), in dominant-share-seconds; +infinity
// for a job with no prediction that has not aged. Uses ctx.now, ctx.capacity, ctx.relative_age.
// REQUIRES: ctx.relative_age >= 0 (0: no ageing).
std::vector<double> AgedPredictedWork(const QueueContext& ctx,
                                      const std::vector<QueueEntry>& pending);

}  // namespace kumo::core::internal
