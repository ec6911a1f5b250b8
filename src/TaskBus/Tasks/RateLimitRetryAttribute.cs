namespace TaskBus.Tasks;

/// <summary>Re-queue policy for runs refused by the task's maximum concurrency (aio-fluid's <c>rate_limit_retry</c>).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RateLimitRetryAttribute : RetryAttribute
{
}
