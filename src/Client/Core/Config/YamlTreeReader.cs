using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Aurora.Client.Config;

/// <summary>
/// Reads YAML into the same <see cref="ConfigNode"/>s as JSON. Plain scalars are typed by the
/// YAML 1.2 core schema (<c>true</c>, <c>null</c>, <c>42</c>, <c>0.5</c>); quoted ones are always
/// strings. YAML 1.1's <c>yes</c>/<c>no</c>/<c>on</c>/<c>off</c> stay strings, so <c>service: yes</c> is
/// an error rather than a guess.
/// </summary>
internal static partial class YamlTreeReader
{
    public static ConfigNode Read(string text, string sourceName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new JobConfigException(sourceName, null, (int)e.Start.Line, $"malformed YAML: {Describe(e)}", e, (int)e.Start.Column);
        }

        return stream.Documents.Count switch
        {
            0 => throw new JobConfigException(sourceName, null, 0, "the file is empty"),
            1 => Convert(stream.Documents[0].RootNode, sourceName),
            _ => throw new JobConfigException(sourceName, null, (int)stream.Documents[1].RootNode.Start.Line,
                $"the file has {stream.Documents.Count} YAML documents; put every job in one document, under \"jobs:\""),
        };
    }

    private static ConfigNode Convert(YamlNode node, string sourceName)
    {
        var line = (int)node.Start.Line;
        switch (node)
        {
            case YamlScalarNode scalar:
                return Scalar(line, scalar);
            case YamlSequenceNode sequence:
                return new ListNode(line, sequence.Children.Select(c => Convert(c, sourceName)).ToList());
            case YamlMappingNode mapping:
                var entries = new List<KeyValuePair<string, ConfigNode>>();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new JobConfigException(sourceName, null, (int)key.Start.Line, "a mapping key must be a plain string, not a list or a mapping");
                    }

                    entries.Add(new(name, Convert(value, sourceName)));
                }

                return new MapNode(line, entries);
            default:
                throw new JobConfigException(sourceName, null, line, $"unsupported YAML node {node.NodeType}");
        }
    }

    private static ScalarNode Scalar(int line, YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        var explicitString = !scalar.Tag.IsEmpty && scalar.Tag.Value is "tag:yaml.org,2002:str" or "!!str";
        if (scalar.Style != ScalarStyle.Plain || explicitString)
        {
            return new ScalarNode(line, ScalarKind.String, text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => new ScalarNode(line, ScalarKind.Null, "null"),
            "true" or "True" or "TRUE" => new ScalarNode(line, ScalarKind.Boolean, "true"),
            "false" or "False" or "FALSE" => new ScalarNode(line, ScalarKind.Boolean, "false"),
            _ when DecimalNumber().IsMatch(text) => new ScalarNode(line, ScalarKind.Number, text),
            _ => new ScalarNode(line, ScalarKind.String, text),
        };
    }

    // YamlDotNet's message starts with "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "; we say that ourselves.
    private static string Describe(YamlException e)
    {
        var message = e.Message;
        if (message.StartsWith("(Line:", StringComparison.Ordinal))
        {
            var cut = message.IndexOf("): ", StringComparison.Ordinal);
            if (cut >= 0)
            {
                message = message[(cut + 3)..];
            }
        }

        if (e.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal))
        {
            message += ": " + inner.Message;
        }

        return message.Length == 0 ? Quoting.Quote(e.GetType().Name) : message;
    }

    [GeneratedRegex(@"\A[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalNumber();
}
