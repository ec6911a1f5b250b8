using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TaskBus.Tasks;

internal sealed class TaskInvoker<TTask, TParams> : ITaskInvoker
    where TTask : class, ITask<TParams>
    where TParams : class
{
    public void Register(IServiceCollection services) => services.TryAddScoped<TTask>();

    public Task InvokeAsync(IServiceProvider services, object parameters, CancellationToken cancellationToken) =>
        services.GetRequiredService<TTask>().ExecuteAsync((TParams)parameters, cancellationToken);
}
