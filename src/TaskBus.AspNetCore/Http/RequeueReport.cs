using TaskBus.Client;

namespace TaskBus.Http;

/// <summary>What <c>POST /tasks-history/requeue</c> did: how many runs matched, how many were (in a dry run: would be) queued again, and each outcome.</summary>
internal sealed record RequeueReport(bool DryRun, int Matched, int Requeued, IReadOnlyList<RequeueOutcome> Outcomes);
