using System.Text;
using TaskBus.MassTransit;
using TaskBus.Tasks;

namespace TaskBus.Tests.MassTransit;

/// <summary>A message of the error queue read back: as an envelope, or as the raw JSON the in-memory transport sends.</summary>
public sealed class ErrorMessageReaderTests
{
    private const string Id = "1b2c0000-0000-0000-0000-000000000001";

    private readonly ErrorMessageReader _reader = new(new TaskRegistry());

    [Fact]
    public void ARawBody_WhoseParamsHaveAMessage_IsReadWhole_ItsTypeFromTheTransportHeader()
    {
        var headers = new Dictionary<string, string> { ["MT-MessageType"] = "urn:message:App:Notify;urn:message:App:INotify" };

        var read = _reader.Read(Id, Encoding.UTF8.GetBytes("""{"message":"hello","to":"ops"}"""), headers.GetValueOrDefault);

        Assert.Equal("hello", read.Params?.GetProperty("message").GetString());
        Assert.Equal("ops", read.Params?.GetProperty("to").GetString());
        Assert.Equal("urn:message:App:Notify", read.Info.MessageType);
    }

    [Fact]
    public void AnEnvelope_GivesItsMessage_AndItsFirstType()
    {
        var body = """{"messageId":"1b2c0000-0000-0000-0000-000000000002","messageType":["urn:message:App:Notify"],"message":{"message":"hello"}}""";

        var read = _reader.Read(null, Encoding.UTF8.GetBytes(body), _ => null);

        Assert.Equal("hello", read.Params?.GetProperty("message").GetString());
        Assert.False(read.Params?.TryGetProperty("messageType", out _));
        Assert.Equal("urn:message:App:Notify", read.Info.MessageType);
        Assert.Equal("1b2c0000000000000000000000000002", read.Info.RunId);
    }
}
