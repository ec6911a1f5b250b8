namespace TaskBus.Http;

/// <summary>Why a request was refused.</summary>
/// <param name="Error">The reason, in one line.</param>
public sealed record ApiError(string Error);
