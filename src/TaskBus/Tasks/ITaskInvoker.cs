namespace TaskBus.Tasks;

/// <summary>Calls a task's method without reflection on each run.</summary>
internal interface ITaskInvoker
{
    void Register(Microsoft.Extensions.DependencyInjection.IServiceCollection services);

    Task InvokeAsync(IServiceProvider services, object parameters, CancellationToken cancellationToken);
}
