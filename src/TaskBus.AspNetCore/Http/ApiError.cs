namespace TaskBus.Http;

/// <summary>Why a request was refused.</summary>
/// <param name="Error">The reason, in one line.</param>
internal sealed record ApiError(string Error);
