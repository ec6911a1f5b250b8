namespace TaskBus.Storage;

/// <summary>
/// A delayed run as the store holds it until it is due: the worker group it goes to, what its message will carry (run
/// header, expiry, params with their real values, secrets included) and when to send it.
/// </summary>
internal sealed record DelayedRun(string RunId, string Queue, string Task, DateTimeOffset Due, string Header, string? Expires, string Params);
