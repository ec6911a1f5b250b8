using TaskBus.Contracts;

namespace TaskBus.Runs;

/// <summary>
/// One of TaskBus's own listeners to every state change (the store writer, the event publisher, the metrics),
/// given by composition to <see cref="RunLifecycle"/>; users' handlers are <see cref="RunHandlers"/>.
/// </summary>
internal interface IRunSink
{
    /// <summary>Hears of runs entering <c>init</c> too.</summary>
    bool WantsInit { get; }

    /// <summary>Gets each change as a <see cref="TaskRunEvent"/> too, built once per change and shared by every sink that wants it.</summary>
    bool WantsEvent { get; }

    /// <summary>
    /// One change. <paramref name="run"/> is the live run: read it only through <see cref="TaskRun.ToEvent"/>, which is
    /// safe while it changes. <paramref name="change"/> is the change as an event when <see cref="WantsEvent"/>.
    /// </summary>
    void OnChanged(TaskRun run, TaskRunEvent? change);

    /// <summary>The run's task reported progress (<see cref="TaskRun.Progress"/>): not a state change.</summary>
    void OnProgress(TaskRun run, TaskRunProgress progress)
    {
    }
}
