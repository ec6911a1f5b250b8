using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskBus.Contracts;
using TaskBus.Runs;
using TaskBus.Storage;

namespace TaskBus.Postgres;

/// <summary>
/// The store shared by every worker, in PostgreSQL. <see cref="InitializeAsync"/> creates or upgrades
/// its tables under an advisory lock, so workers starting together do not race; nothing is manual.
/// </summary>
internal sealed class PostgresTaskStore : ITaskStore, IAsyncDisposable
{
    private const long SchemaLock = 0x7461736b627573; // "taskbus"

    // Each entry upgrades the schema by one version; applied in order, once, at start.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE taskbus_runs (
            id text PRIMARY KEY,
            task text NOT NULL,
            state text NOT NULL,
            state_rank int NOT NULL,
            priority text NOT NULL,
            params jsonb,
            queued timestamptz NOT NULL,
            start timestamptz,
            "end" timestamptz,
            duration_ms double precision,
            from_run_id text NOT NULL DEFAULT '',
            root_run_id text NOT NULL DEFAULT '',
            retry_attempt int NOT NULL DEFAULT 0,
            rate_limit_attempt int NOT NULL DEFAULT 0,
            error text,
            worker text NOT NULL DEFAULT '');
        CREATE INDEX taskbus_runs_queued ON taskbus_runs (queued DESC, id DESC);
        CREATE INDEX taskbus_runs_task_queued ON taskbus_runs (task, queued DESC, id DESC);
        CREATE TABLE taskbus_tasks (
            name text PRIMARY KEY,
            enabled boolean NOT NULL DEFAULT true,
            last_run_end timestamptz,
            last_run_duration_ms double precision,
            last_run_state text);
        CREATE TABLE taskbus_claims (
            id text PRIMARY KEY,
            claimed timestamptz NOT NULL DEFAULT now());
        """,
        """
        CREATE TABLE taskbus_workers (
            id text PRIMARY KEY,
            host text NOT NULL,
            running_tasks int NOT NULL,
            last_heartbeat timestamptz NOT NULL);
        """,
        """
        CREATE TABLE taskbus_slots (
            task text NOT NULL,
            run_id text NOT NULL,
            expires timestamptz NOT NULL,
            PRIMARY KEY (task, run_id));
        """,
        """
        ALTER TABLE taskbus_runs ADD COLUMN redelivered boolean NOT NULL DEFAULT false;
        ALTER TABLE taskbus_runs ADD COLUMN scheduled_for timestamptz;
        CREATE INDEX taskbus_claims_claimed ON taskbus_claims (claimed);
        """,
        """
        CREATE INDEX taskbus_runs_params ON taskbus_runs USING gin (params jsonb_path_ops);
        CREATE INDEX taskbus_runs_state_queued ON taskbus_runs (state, queued DESC, id DESC);
        """,
        """
        CREATE TABLE taskbus_cancels (
            seq bigserial UNIQUE,
            run_id text PRIMARY KEY,
            reason text NOT NULL,
            at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE taskbus_unique (
            task text NOT NULL,
            key text NOT NULL,
            run_id text NOT NULL,
            held timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (task, key));
        CREATE INDEX taskbus_runs_ended ON taskbus_runs ("end") WHERE state_rank = 3 AND state <> 'interrupted';
        CREATE TABLE taskbus_groups (
            queue text PRIMARY KEY,
            paused boolean NOT NULL DEFAULT false,
            changed timestamptz NOT NULL DEFAULT now());
        CREATE TABLE taskbus_delayed (
            run_id text PRIMARY KEY,
            queue text NOT NULL,
            task text NOT NULL,
            due timestamptz NOT NULL,
            header text NOT NULL,
            expires text,
            params text NOT NULL);
        CREATE INDEX taskbus_delayed_due ON taskbus_delayed (queue, due);
        ALTER TABLE taskbus_runs ADD COLUMN due timestamptz;
        ALTER TABLE taskbus_runs ADD COLUMN progress double precision;
        ALTER TABLE taskbus_runs ADD COLUMN progress_message text;
        """,
        // The worker group a run belongs to, and whether its failure ends a round only (a retry follows).
        """
        ALTER TABLE taskbus_runs ADD COLUMN queue text NOT NULL DEFAULT '';
        ALTER TABLE taskbus_runs ADD COLUMN will_retry boolean NOT NULL DEFAULT false;
        """,
    ];

    // One statement per batch, however many runs it holds: the rows come in as arrays (one per column), so the
    // server parses and plans once; a statement per run cost more than the bus that fed it.
    private const string UpsertRuns = """
        INSERT INTO taskbus_runs AS r (id, task, state, state_rank, priority, params, queued, start, "end", duration_ms,
            from_run_id, root_run_id, retry_attempt, rate_limit_attempt, error, worker, redelivered, scheduled_for, due, progress, progress_message,
            queue, will_retry)
        SELECT id, task, state, state_rank, priority, params::jsonb, queued, start, "end", duration_ms,
            from_run_id, root_run_id, retry_attempt, rate_limit_attempt, error, worker, redelivered, scheduled_for, due, progress, progress_message,
            queue, will_retry
        FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[],
            $8::timestamptz[], $9::timestamptz[], $10::float8[], $11::text[], $12::text[], $13::int[], $14::int[],
            $15::text[], $16::text[], $17::bool[], $18::timestamptz[], $19::timestamptz[], $20::float8[], $21::text[], $22::text[], $23::bool[])
            AS u(id, task, state, state_rank, priority, params, queued, start, "end", duration_ms,
            from_run_id, root_run_id, retry_attempt, rate_limit_attempt, error, worker, redelivered, scheduled_for, due, progress, progress_message,
            queue, will_retry)
        ON CONFLICT (id) DO UPDATE SET task = excluded.task, state = excluded.state, state_rank = excluded.state_rank,
            priority = excluded.priority, params = excluded.params, queued = excluded.queued, start = excluded.start,
            "end" = excluded."end", duration_ms = excluded.duration_ms, from_run_id = excluded.from_run_id,
            root_run_id = excluded.root_run_id, retry_attempt = excluded.retry_attempt,
            rate_limit_attempt = excluded.rate_limit_attempt, error = excluded.error, worker = excluded.worker,
            redelivered = excluded.redelivered, scheduled_for = excluded.scheduled_for, due = coalesce(excluded.due, r.due),
            progress = coalesce(excluded.progress, r.progress), progress_message = coalesce(excluded.progress_message, r.progress_message),
            queue = CASE WHEN excluded.queue = '' THEN r.queue ELSE excluded.queue END, will_retry = excluded.will_retry
        WHERE (excluded.retry_attempt, excluded.rate_limit_attempt, excluded.state_rank) >= (r.retry_attempt, r.rate_limit_attempt, r.state_rank)
            AND NOT ((excluded.retry_attempt, excluded.rate_limit_attempt) = (r.retry_attempt, r.rate_limit_attempt)
                AND r.state_rank = 3 AND r.state <> 'interrupted')
            AND NOT (r.state = 'aborted' AND r.error LIKE 'cancelled%')
        """;

    // One primary-key lookup per run asked about. As a plain join the planner, knowing the array's length, hashed
    // every ended run of the history (the partial index of ended runs matches the join's filter) for each read:
    // 230 rows read per run started at 12,000 runs in the table, and more as the history grows.
    internal const string StandingsQuery = """
        SELECT u.id, r.state, r.retry_attempt, c.reason
        FROM unnest($1::text[]) AS u(id)
        LEFT JOIN LATERAL (SELECT state, retry_attempt FROM taskbus_runs
            WHERE id = u.id AND state_rank = 3 AND state <> 'interrupted' LIMIT 1) r ON true
        LEFT JOIN LATERAL (SELECT reason FROM taskbus_cancels WHERE run_id = u.id LIMIT 1) c ON true
        WHERE r.state IS NOT NULL OR c.reason IS NOT NULL
        """;

    private const string UpsertLastRuns = """
        INSERT INTO taskbus_tasks AS t (name, last_run_end, last_run_duration_ms, last_run_state)
        SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::text[])
        ON CONFLICT (name) DO UPDATE SET last_run_end = excluded.last_run_end,
            last_run_duration_ms = excluded.last_run_duration_ms, last_run_state = excluded.last_run_state
        WHERE t.last_run_end IS NULL OR excluded.last_run_end >= t.last_run_end
        """;

    private const string RunColumns = """
        id, task, state, priority, params::text, queued, start, "end", duration_ms, from_run_id, root_run_id, retry_attempt, rate_limit_attempt, error, worker,
        redelivered, scheduled_for, due, progress, progress_message, queue, will_retry
        """;

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Creates the store over an Npgsql connection string.</summary>
    public PostgresTaskStore(string connectionString) => _dataSource = NpgsqlDataSource.Create(connectionString);

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Execute(connection, "SELECT pg_advisory_xact_lock($1)", cancellationToken, SchemaLock);
        await Execute(connection, "CREATE TABLE IF NOT EXISTS taskbus_schema (version int NOT NULL)", cancellationToken);
        await using (var read = new NpgsqlCommand("SELECT max(version) FROM taskbus_schema", connection))
        {
            var current = await read.ExecuteScalarAsync(cancellationToken) is int version ? version : 0;
            for (var next = current; next < Migrations.Length; next++)
            {
                await Execute(connection, Migrations[next], cancellationToken);
                await Execute(connection, "INSERT INTO taskbus_schema (version) VALUES ($1)", cancellationToken, next + 1);
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task UpsertRunsAsync(IReadOnlyList<TaskRunEvent> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
            return;
        // A row can change once per statement: the furthest change of each run (the last of equals), in id order so
        // that two writers touching the same runs lock them in the same order.
        var latest = new Dictionary<string, TaskRunEvent>(runs.Count, StringComparer.Ordinal);
        foreach (var run in runs)
        {
            if (run.Queued is null)
                throw new ArgumentException($"run {run.Id} was never queued", nameof(runs));
            if (!latest.TryGetValue(run.Id, out var seen) || RunCursor.Rank(run).CompareTo(RunCursor.Rank(seen)) >= 0)
                latest[run.Id] = run;
        }
        var rows = latest.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToArray();
        await using var batch = _dataSource.CreateBatch();
        var upsert = new NpgsqlBatchCommand(UpsertRuns);
        upsert.Parameters.Add(Column(rows, r => r.Id));
        upsert.Parameters.Add(Column(rows, r => r.Task));
        upsert.Parameters.Add(Column(rows, r => r.State.ToWire()));
        upsert.Parameters.Add(Column(rows, r => RunCursor.Rank(r).Item3));
        upsert.Parameters.Add(Column(rows, r => r.Priority.ToWire()));
        upsert.Parameters.Add(Column(rows, r => r.Params?.GetRawText()));
        upsert.Parameters.Add(Column(rows, r => r.Queued));
        upsert.Parameters.Add(Column(rows, r => r.Start));
        upsert.Parameters.Add(Column(rows, r => r.End));
        upsert.Parameters.Add(Column(rows, r => r.DurationMs));
        upsert.Parameters.Add(Column(rows, r => r.FromRunId));
        upsert.Parameters.Add(Column(rows, r => r.RootRunId));
        upsert.Parameters.Add(Column(rows, r => r.RetryAttempt));
        upsert.Parameters.Add(Column(rows, r => r.RateLimitAttempt));
        upsert.Parameters.Add(Column(rows, r => r.Error));
        upsert.Parameters.Add(Column(rows, r => r.Worker));
        upsert.Parameters.Add(Column(rows, r => r.Redelivered));
        upsert.Parameters.Add(Column(rows, r => r.ScheduledFor));
        upsert.Parameters.Add(Column(rows, r => r.Due));
        upsert.Parameters.Add(Column(rows, r => r.Progress));
        upsert.Parameters.Add(Column(rows, r => r.ProgressMessage));
        upsert.Parameters.Add(Column(rows, r => r.Queue));
        upsert.Parameters.Add(Column(rows, r => r.WillRetry));
        batch.BatchCommands.Add(upsert);
        // Each task's last run: the latest to end in this batch, also one a later change of its run replaced (a retry).
        var last = runs.Where(r => r.State.IsFinished())
            .GroupBy(r => r.Task, StringComparer.Ordinal)
            .Select(g => g.MaxBy(r => r.End ?? DateTimeOffset.MinValue)!)
            .OrderBy(r => r.Task, StringComparer.Ordinal)
            .ToArray();
        if (last.Length > 0)
        {
            var lastRuns = new NpgsqlBatchCommand(UpsertLastRuns);
            lastRuns.Parameters.Add(Column(last, r => r.Task));
            lastRuns.Parameters.Add(Column(last, r => r.End));
            lastRuns.Parameters.Add(Column(last, r => r.DurationMs));
            lastRuns.Parameters.Add(Column(last, r => r.State.ToWire()));
            batch.BatchCommands.Add(lastRuns);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter<T[]> Column<T>(TaskRunEvent[] rows, Func<TaskRunEvent, T> value) => new() { TypedValue = Array.ConvertAll(rows, r => value(r)) };

    /// <inheritdoc />
    public async Task<TaskRunEvent?> GetRunAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {RunColumns} FROM taskbus_runs WHERE id = $1");
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRun(reader) : null;
    }

    /// <inheritdoc />
    public async Task<TaskRunPage> QueryRunsAsync(TaskRunQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = query.Cursor is null ? ((long, string)?)null : RunCursor.Decode(query.Cursor);
        await using var command = _dataSource.CreateCommand($"""
            SELECT {RunColumns} FROM taskbus_runs
            WHERE ($1::text IS NULL OR task = $1) AND ($2::text IS NULL OR state = $2)
              AND ($3::timestamptz IS NULL OR queued >= $3) AND ($4::timestamptz IS NULL OR queued < $4)
              AND ($5::timestamptz IS NULL OR (queued, id) < ($5, $6))
              AND ($8::text[] IS NULL OR task = ANY($8)) AND ($9::jsonb IS NULL OR params @> $9)
              AND ($10::text IS NULL OR queue = $10 OR queue = '')
            ORDER BY queued DESC, id DESC
            LIMIT $7
            """);
        command.Parameters.Add(Nullable(query.Task, NpgsqlDbType.Text));
        command.Parameters.Add(Nullable(query.State?.ToWire(), NpgsqlDbType.Text));
        command.Parameters.Add(Nullable(query.From, NpgsqlDbType.TimestampTz));
        command.Parameters.Add(Nullable(query.To, NpgsqlDbType.TimestampTz));
        command.Parameters.Add(Nullable(after is { } c ? new DateTimeOffset(c.Item1, TimeSpan.Zero) : null, NpgsqlDbType.TimestampTz));
        command.Parameters.Add(new() { Value = after?.Item2 ?? "", NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = query.Limit + 1 });
        command.Parameters.Add(new() { Value = query.Tasks is null ? DBNull.Value : query.Tasks.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = query.Params is { } pattern ? pattern.GetRawText() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(Nullable(query.Queue, NpgsqlDbType.Text));
        var page = new List<TaskRunEvent>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                page.Add(ReadRun(reader));
        }
        var more = page.Count > query.Limit;
        if (more)
            page.RemoveAt(page.Count - 1);
        return new TaskRunPage(page, more ? RunCursor.Encode(page[^1]) : null);
    }

    /// <inheritdoc />
    public async ValueTask<StoredTask> GetTaskAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT enabled, last_run_end, last_run_duration_ms, last_run_state FROM taskbus_tasks WHERE name = $1");
        command.Parameters.Add(new() { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return new StoredTask { Name = name };
        return new StoredTask
        {
            Name = name,
            Enabled = reader.GetBoolean(0),
            LastRunEnd = reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1),
            LastRunDurationMs = reader.IsDBNull(2) ? null : reader.GetDouble(2),
            LastRunState = reader.IsDBNull(3) ? null : TaskStateExtensions.ParseState(reader.GetString(3)),
        };
    }

    /// <inheritdoc />
    public async Task SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO taskbus_tasks (name, enabled) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled");
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = enabled });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> TryClaimAsync(string runId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("INSERT INTO taskbus_claims (id) VALUES ($1) ON CONFLICT DO NOTHING");
        command.Parameters.Add(new() { Value = runId });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc />
    public async Task<bool> TryAcquireSlotAsync(string task, string runId, int max, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The advisory lock serialises every worker taking a slot of this task, until commit.
        await Execute(connection, "SELECT pg_advisory_xact_lock(hashtext('taskbus-slots:' || $1))", cancellationToken, task);
        await Execute(connection, "DELETE FROM taskbus_slots WHERE task = $1 AND expires < now()", cancellationToken, task);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO taskbus_slots (task, run_id, expires)
            SELECT $1, $2, now() + $4 WHERE (SELECT count(*) FROM taskbus_slots WHERE task = $1 AND run_id <> $2) < $3
            ON CONFLICT (task, run_id) DO UPDATE SET expires = excluded.expires
            """, connection);
        insert.Parameters.Add(new() { Value = task });
        insert.Parameters.Add(new() { Value = runId });
        insert.Parameters.Add(new() { Value = (long)max });
        insert.Parameters.Add(new() { Value = lease });
        var taken = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return taken;
    }

    /// <inheritdoc />
    public async Task ReleaseSlotAsync(string task, string runId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM taskbus_slots WHERE task = $1 AND run_id = $2");
        command.Parameters.Add(new() { Value = task });
        command.Parameters.Add(new() { Value = runId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task HeartbeatAsync(WorkerStatus worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO taskbus_workers (id, host, running_tasks, last_heartbeat) VALUES ($1, $2, $3, $4)
            ON CONFLICT (id) DO UPDATE SET host = excluded.host, running_tasks = excluded.running_tasks, last_heartbeat = excluded.last_heartbeat
            """);
        command.Parameters.Add(new() { Value = worker.Id });
        command.Parameters.Add(new() { Value = worker.Host });
        command.Parameters.Add(new() { Value = worker.RunningTasks });
        command.Parameters.Add(new() { Value = worker.LastHeartbeat });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkerStatus>> GetWorkersAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT id, host, running_tasks, last_heartbeat FROM taskbus_workers WHERE last_heartbeat >= $1 ORDER BY id");
        command.Parameters.Add(new() { Value = since });
        var workers = new List<WorkerStatus>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            workers.Add(new WorkerStatus
            {
                Id = reader.GetString(0),
                Host = reader.GetString(1),
                RunningTasks = reader.GetInt32(2),
                LastHeartbeat = reader.GetFieldValue<DateTimeOffset>(3),
            });
        }
        return workers;
    }

    /// <inheritdoc />
    public async Task PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM taskbus_claims WHERE claimed < $1") { Parameters = { new() { Value = before } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM taskbus_workers WHERE last_heartbeat < $1") { Parameters = { new() { Value = before } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM taskbus_cancels WHERE at < $1") { Parameters = { new() { Value = before } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            DELETE FROM taskbus_unique u USING taskbus_runs r WHERE r.id = u.run_id AND r.state_rank = 3 AND r.state <> 'interrupted'
            """));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> RequestCancelAsync(string runId, string reason, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("INSERT INTO taskbus_cancels (run_id, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        command.Parameters.Add(new() { Value = runId });
        command.Parameters.Add(new() { Value = reason });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc />
    public async Task<(IReadOnlyList<RunCancel> Cancels, long Cursor)> GetCancelsAsync(long? after, CancellationToken cancellationToken)
    {
        if (after is not { } from)
        {
            await using var last = _dataSource.CreateCommand("SELECT coalesce(max(seq), 0) FROM taskbus_cancels");
            return ([], (long)(await last.ExecuteScalarAsync(cancellationToken))!);
        }
        // Numbers taken by transactions still open commit later than greater ones: the last seconds are read again.
        await using var command = _dataSource.CreateCommand(
            "SELECT seq, run_id, reason FROM taskbus_cancels WHERE seq > $1 OR at > now() - interval '10 seconds' ORDER BY seq");
        command.Parameters.Add(new() { Value = from });
        var cancels = new List<RunCancel>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            cancels.Add(new RunCancel(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        return (cancels, cancels.Count > 0 ? Math.Max(from, cancels[^1].Seq) : from);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, RunStanding>> GetStandingsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        await using var command = _dataSource.CreateCommand(StandingsQuery);
        command.Parameters.Add(new() { Value = runIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var standings = new Dictionary<string, RunStanding>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            standings[reader.GetString(0)] = new RunStanding(
                reader.IsDBNull(1) ? null : TaskStateExtensions.ParseState(reader.GetString(1)),
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3));
        }
        return standings;
    }

    /// <inheritdoc />
    public async Task<string?> TryHoldKeyAsync(string task, string key, string runId, TimeSpan unstoredAfter, CancellationToken cancellationToken)
    {
        // The row lock of the conflict decides between processes queueing the same key at once. A holder that
        // committed after this statement began is not in its snapshot: it is read by a statement of its own.
        for (var attempt = 0; ; attempt++)
        {
            await using var command = _dataSource.CreateCommand("""
                INSERT INTO taskbus_unique AS u (task, key, run_id) VALUES ($1, $2, $3)
                ON CONFLICT (task, key) DO UPDATE SET run_id = excluded.run_id, held = now()
                WHERE u.run_id = excluded.run_id
                    OR EXISTS (SELECT 1 FROM taskbus_runs r WHERE r.id = u.run_id AND r.state_rank = 3 AND r.state <> 'interrupted')
                    OR (u.held < now() - $4 AND NOT EXISTS (SELECT 1 FROM taskbus_runs r WHERE r.id = u.run_id))
                """);
            command.Parameters.Add(new() { Value = task });
            command.Parameters.Add(new() { Value = key });
            command.Parameters.Add(new() { Value = runId });
            command.Parameters.Add(new() { Value = unstoredAfter });
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
                return null;
            await using var read = _dataSource.CreateCommand("SELECT run_id FROM taskbus_unique WHERE task = $1 AND key = $2");
            read.Parameters.Add(new() { Value = task });
            read.Parameters.Add(new() { Value = key });
            if (await read.ExecuteScalarAsync(cancellationToken) is string holder)
                return holder == runId ? null : holder;
            // The holder's row went (pruned) between the two: try again.
            if (attempt == 5)
                throw new InvalidOperationException($"the unique key '{key}' of task {task} could not be taken or read");
        }
    }

    /// <inheritdoc />
    public async Task<int> PruneRunsAsync(DateTimeOffset endedBefore, DateTimeOffset failedBefore, int batch, CancellationToken cancellationToken)
    {
        // One short statement per batch; SKIP LOCKED: a row a writer holds is left for the next cycle, never waited for.
        await using var command = _dataSource.CreateCommand("""
            DELETE FROM taskbus_runs WHERE id IN (
                SELECT id FROM taskbus_runs
                WHERE state_rank = 3 AND state <> 'interrupted' AND "end" < greatest($1, $2)
                    AND "end" < CASE WHEN state = 'failure' THEN $2 ELSE $1 END
                LIMIT $3 FOR UPDATE SKIP LOCKED)
            """);
        command.Parameters.Add(new() { Value = endedBefore });
        command.Parameters.Add(new() { Value = failedBefore });
        command.Parameters.Add(new() { Value = batch });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(DateTimeOffset Minute, TaskState State, int Count)>> CountEndedPerMinuteAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("""
            SELECT date_trunc('minute', "end"), state, count(*)::int FROM taskbus_runs
            WHERE state_rank = 3 AND state <> 'interrupted' AND "end" >= $1
            GROUP BY 1, 2 ORDER BY 1
            """);
        command.Parameters.Add(new() { Value = from });
        var counts = new List<(DateTimeOffset, TaskState, int)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            counts.Add((reader.GetFieldValue<DateTimeOffset>(0), TaskStateExtensions.ParseState(reader.GetString(1)), reader.GetInt32(2)));
        return counts;
    }

    /// <inheritdoc />
    public async Task<HistorySize> GetHistorySizeAsync(CancellationToken cancellationToken)
    {
        // Counting a large table reads all of it: the planner's estimate, exact once the table was analysed, is enough to show.
        await using var command = _dataSource.CreateCommand("""
            SELECT greatest((SELECT reltuples::bigint FROM pg_class WHERE oid = 'taskbus_runs'::regclass), 0),
                (SELECT queued FROM taskbus_runs ORDER BY queued, id LIMIT 1)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var estimate = reader.GetInt64(0);
        var oldest = reader.IsDBNull(1) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(1);
        // A table never analysed says 0 (or -1): count it then, it is young.
        if (estimate == 0 && oldest is not null)
        {
            await reader.CloseAsync();
            await using var count = _dataSource.CreateCommand("SELECT count(*) FROM taskbus_runs");
            estimate = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new HistorySize(estimate, oldest);
    }

    /// <inheritdoc />
    public async Task AddDelayedAsync(DelayedRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO taskbus_delayed (run_id, task, due, header, expires, params, queue) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id) DO NOTHING");
        command.Parameters.Add(new() { Value = run.RunId });
        command.Parameters.Add(new() { Value = run.Task });
        command.Parameters.Add(new() { Value = run.Due });
        command.Parameters.Add(new() { Value = run.Header });
        command.Parameters.Add(Nullable(run.Expires, NpgsqlDbType.Text));
        command.Parameters.Add(new() { Value = run.Params });
        command.Parameters.Add(new() { Value = run.Queue });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> SendDueAsync(
        DateTimeOffset now, string queue, IReadOnlyCollection<string> tasks, int batch, Func<IReadOnlyList<DelayedRun>, Task<IReadOnlyCollection<string>>> send,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Rows another process is sending are skipped; these stay locked until the sends are done, then leave.
        var due = new List<DelayedRun>();
        await using (var take = new NpgsqlCommand("""
            SELECT run_id, task, due, header, expires, params FROM taskbus_delayed
            WHERE queue = $4 AND due <= $1 AND task = ANY($2) ORDER BY due LIMIT $3 FOR UPDATE SKIP LOCKED
            """, connection))
        {
            take.Parameters.Add(new() { Value = now });
            take.Parameters.Add(new() { Value = tasks.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            take.Parameters.Add(new() { Value = batch });
            take.Parameters.Add(new() { Value = queue });
            await using var reader = await take.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(new DelayedRun(
                    reader.GetString(0), queue, reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5)));
            }
        }
        if (due.Count == 0)
            return 0;
        // Only the runs the broker took leave; the others stay, sent again at the next call, never a second copy of one sent.
        var sent = await send(due);
        if (sent.Count > 0)
        {
            await using var remove = new NpgsqlCommand("DELETE FROM taskbus_delayed WHERE run_id = ANY($1)", connection);
            remove.Parameters.Add(new() { Value = sent.ToArray() });
            await remove.ExecuteNonQueryAsync(CancellationToken.None);
        }
        await transaction.CommitAsync(CancellationToken.None);
        return sent.Count;
    }

    /// <inheritdoc />
    public async Task<bool> RemoveDelayedAsync(string runId, CancellationToken cancellationToken)
    {
        // A sender holding the row is waited for a moment at most: then the run is being sent, and the worker that
        // receives it finds it cancelled.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await Execute(connection, "SET LOCAL lock_timeout = '2s'", cancellationToken);
        int removed;
        try
        {
            await using var command = new NpgsqlCommand("DELETE FROM taskbus_delayed WHERE run_id = $1", connection);
            command.Parameters.Add(new() { Value = runId });
            removed = await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return false;
        }
        await transaction.CommitAsync(cancellationToken);
        return removed == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DelayedRun>> ListDelayedAsync(string queue, int limit, CancellationToken cancellationToken)
    {
        // The params hold secrets in clear: a listing leaves them out.
        await using var command = _dataSource.CreateCommand(
            "SELECT run_id, task, due, header, expires FROM taskbus_delayed WHERE queue = $2 ORDER BY due, run_id LIMIT $1");
        command.Parameters.Add(new() { Value = limit });
        command.Parameters.Add(new() { Value = queue });
        var runs = new List<DelayedRun>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(new DelayedRun(
                reader.GetString(0), queue, reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), ""));
        }
        return runs;
    }

    /// <inheritdoc />
    public async Task<bool> IsPausedAsync(string group, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT paused FROM taskbus_groups WHERE queue = $1");
        command.Parameters.Add(new() { Value = group });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <inheritdoc />
    public async Task SetPausedAsync(string group, bool paused, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO taskbus_groups (queue, paused) VALUES ($1, $2)
            ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused, changed = now()
            """);
        command.Parameters.Add(new() { Value = group });
        command.Parameters.Add(new() { Value = paused });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> LockAsync(string name, CancellationToken cancellationToken)
    {
        // A session advisory lock, held by a connection of its own until the holder is disposed.
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await Execute(connection, "SELECT pg_advisory_lock(hashtextextended($1, 0))", cancellationToken, name);
            return new AdvisoryLock(connection, name);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A failure on the client's side (no connection, connection lost, timeout) and the server's codes for "not now"
    /// (class 08 connection, 53 resources, 57P01–57P03 shutting down or starting, 58 system); any other error from the
    /// server (a statement timeout, a deadlock, a missing table) is a fault in the request, not an outage.
    /// </remarks>
    public bool IsUnreachable(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("58", StringComparison.Ordinal),
        NpgsqlException => true,
        System.Net.Sockets.SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <inheritdoc />
    /// <remarks>
    /// Class 28 (invalid authorization: a wrong password, no such role, pg_hba refusing it), 3D000 (no such database),
    /// and a password the server asks for that the connection string does not give.
    /// </remarks>
    public bool IsRefused(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("28", StringComparison.Ordinal) || pg.SqlState == "3D000",
        // The server asks for a password the connection string does not give: Npgsql says so before sending anything.
        NpgsqlException { InnerException: null } npgsql => npgsql.Message.StartsWith("No password has been provided", StringComparison.Ordinal),
        _ => false,
    };

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private sealed class AdvisoryLock(NpgsqlConnection connection, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await Execute(connection, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", CancellationToken.None, name);
            }
            finally
            {
                // Closing the session also ends the lock, should the unlock have failed.
                await connection.DisposeAsync();
            }
        }
    }

    private static TaskRunEvent ReadRun(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Task = reader.GetString(1),
        State = TaskStateExtensions.ParseState(reader.GetString(2)),
        Priority = TaskStateExtensions.ParsePriority(reader.GetString(3)),
        Params = reader.IsDBNull(4) ? null : JsonDocument.Parse(reader.GetString(4)).RootElement.Clone(),
        Queued = reader.GetFieldValue<DateTimeOffset>(5),
        Start = reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        End = reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
        DurationMs = reader.IsDBNull(8) ? null : reader.GetDouble(8),
        FromRunId = reader.GetString(9),
        RootRunId = reader.GetString(10),
        RetryAttempt = reader.GetInt32(11),
        RateLimitAttempt = reader.GetInt32(12),
        Error = reader.IsDBNull(13) ? null : reader.GetString(13),
        Worker = reader.GetString(14),
        Redelivered = reader.GetBoolean(15),
        ScheduledFor = reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16),
        Due = reader.IsDBNull(17) ? null : reader.GetFieldValue<DateTimeOffset>(17),
        Progress = reader.IsDBNull(18) ? null : reader.GetDouble(18),
        ProgressMessage = reader.IsDBNull(19) ? null : reader.GetString(19),
        Queue = reader.GetString(20),
        WillRetry = reader.GetBoolean(21),
    };

    private static NpgsqlParameter Nullable(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
            command.Parameters.Add(new() { Value = value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
