using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using TaskBus.Contracts;
using TaskBus.Tasks;

namespace TaskBus.Http;

/// <summary>
/// What ASP.NET Core's document generator cannot know of TaskBus's routes, told to it: the params a run of each task
/// takes, the flat answer of <c>POST /tasks/{name}</c>, numbers and times as a client reads them (the server writes
/// numbers, never strings), enums without <c>null</c> (a nullable use says so where it is used), and descriptions as
/// people read them.
/// </summary>
internal static class TaskBusOpenApi
{
    /// <summary>The query parameters that take whole numbers, and true or false; read as text, to say what is wrong in words.</summary>
    private static readonly string[] WholeNumbers = ["limit", "minutes"];
    private static readonly string[] Flags = ["dryRun", "all"];

    public static void Configure(OpenApiOptions options)
    {
        options.AddSchemaTransformer((schema, context, _) =>
        {
            Schema(schema, context.JsonTypeInfo.Type);
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(OperationAsync);
    }

    private static void Schema(OpenApiSchema schema, Type type)
    {
        schema.Description = Readable(schema.Description);
        var underlying = Nullable.GetUnderlyingType(type);
        var plain = underlying ?? type;
        if (plain.IsEnum && schema.Enum is { } values)
        {
            // A nullable use of the enum is a oneOf with null where it is used; the enum itself has no null.
            schema.Enum = [.. values.Where(v => v is not null)];
            schema.Type = JsonSchemaType.String;
        }
        // The server writes numbers as numbers: that a string would also be read is no concern of a client's.
        if (schema.Type is { } kind && (kind.HasFlag(JsonSchemaType.Number) || kind.HasFlag(JsonSchemaType.Integer)) && kind.HasFlag(JsonSchemaType.String))
        {
            schema.Type = kind & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        if (plain == typeof(DateTimeOffset) || plain == typeof(DateTime))
        {
            schema.Type = underlying is null ? JsonSchemaType.String : JsonSchemaType.String | JsonSchemaType.Null;
            schema.Format = "date-time";
        }
        if (schema.Properties is { } properties)
        {
            foreach (var property in properties.Values.OfType<OpenApiSchema>())
            {
                property.Description = Readable(property.Description);
                if (property.Format == "date-time" && property.Type is null)
                    property.Type = JsonSchemaType.String | JsonSchemaType.Null;
            }
        }
    }

    private static async Task OperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.Summary = Readable(operation.Summary);
        operation.Description = Readable(operation.Description);
        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
        {
            if (parameter.In == ParameterLocation.Query && WholeNumbers.Contains(parameter.Name, StringComparer.Ordinal))
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" };
            else if (parameter.In == ParameterLocation.Query && Flags.Contains(parameter.Name, StringComparer.Ordinal))
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Boolean };
        }
        if (context.Description.HttpMethod == "POST" && context.Description.RelativePath == "tasks/{name}")
            await QueueOperationAsync(operation, context, cancellationToken);
    }

    /// <summary>
    /// <c>POST /tasks/{name}</c>: the body is the task's params, one of the known tasks' params objects (each in the
    /// components, named after its record); the answer is the run as a <see cref="TaskRunEvent"/>, with the queueing's
    /// terms beside its fields when it was queued with a unique key or an expiry.
    /// </summary>
    private static async Task QueueOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var document = context.Document!;
        var registry = context.ApplicationServices.GetRequiredService<TaskRegistry>();
        var choices = new List<IOpenApiSchema>();
        foreach (var task in registry.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var name = task.ParamsType.Name;
            if (document.Components?.Schemas?.ContainsKey(name) != true)
            {
                var schema = await context.GetOrCreateSchemaAsync(task.ParamsType, null, cancellationToken);
                schema.Description ??= $"The params of task {task.Name}.";
                schema.Description = Readable(schema.Description);
                document.AddComponent<IOpenApiSchema>(name, schema);
            }
            choices.Add(new OpenApiSchemaReference(name, document));
        }
        operation.RequestBody = new OpenApiRequestBody
        {
            Description = "The run's params as a JSON object: the params record of the task named in the path (its fields in camelCase). "
                + "No body: the task's defaults. A field the task does not have, or a value of the wrong type, is a 422.",
            Required = false,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object, AnyOf = choices } },
            },
        };
        if (document.Components?.Schemas?.ContainsKey(nameof(TaskRunEvent)) != true)
            document.AddComponent<IOpenApiSchema>(nameof(TaskRunEvent), await context.GetOrCreateSchemaAsync(typeof(TaskRunEvent), null, cancellationToken));
        var terms = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Present when the run was queued with a unique key or an expiry.",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["deduplicated"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Boolean,
                    Description = "True when nothing was queued: a run of the task with the same unique key was queued or running, and this is that run.",
                },
                ["uniqueKey"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Description = "The unique key, or null." },
                ["expiresAt"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Format = "date-time", Description = "When the run expires, or null." },
            },
        };
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok is OpenApiResponse response)
        {
            response.Description = "The run, queued (or, deduplicated, the run already queued or running with the same key)";
            response.Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = new OpenApiSchema { AllOf = [new OpenApiSchemaReference(nameof(TaskRunEvent), document), terms] } },
            };
        }
    }

    /// <summary>A description as people read it: the document generator leaves XML's escapes in.</summary>
    private static string? Readable(string? text) => text is null ? null : WebUtility.HtmlDecode(text);
}
