"""orch mcp through the official MCP Python SDK, which checks every successful tool result
against the tool's outputSchema. Run by tests/cli/mcp_sdk.rs: python3 client.py ORCH PROJECT.
Prints "ok" when every check passed; any failure raises."""

import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def structured(result):
    content = getattr(result, "structured_content", None)
    if content is None:
        content = getattr(result, "structuredContent", None)
    return content


def is_error(result):
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


def text(result):
    return "\n".join(block.text for block in result.content if getattr(block, "text", None) is not None)


async def main(orch, project):
    params = StdioServerParameters(command=orch, args=["-C", project, "mcp"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == {"up", "down", "ps", "logs", "wait", "start", "stop", "restart", "scale"}, tools
            for tool in tools.values():
                schema = getattr(tool, "output_schema", None) or getattr(tool, "outputSchema", None)
                assert schema and schema["type"] == "object", tool

            # Every argument type, as the schemas say them; the SDK validates each result.
            calls = [
                ("up", {"services": ["web"], "wait": True, "timeout": "20s"}, True),
                ("wait", {"services": ["web"], "until": "ready", "timeout": 10}, True),
                ("logs", {"service": "web", "tail": 2, "grep": "line", "max_bytes": 10000}, True),
                ("start", {"name": "srv", "command": "exec sleep 1000", "env": {"A": "1"}, "replace": False}, True),
                ("start", {"name": "srv", "command": "exec sleep 1000", "env": {"A": "1"}}, True),
                ("start", {"name": "srv", "command": "exec sleep 999"}, False),
                ("ps", {"services": ["srv", "web"]}, True),
                ("restart", {"name": "web", "timeout": "20s"}, True),
                ("scale", {"name": "web", "replicas": 2, "timeout": "20s"}, True),
                ("scale", {"name": "web", "replicas": 0}, True),
                ("scale", {"name": "nope", "replicas": 1}, False),
                ("stop", {"name": "srv"}, True),
                ("stop", {"name": "nope"}, False),
                ("down", {"timeout": 20}, True),
            ]
            for name, arguments, expect_ok in calls:
                result = await session.call_tool(name, arguments)
                content = structured(result)
                assert content is not None and content["ok"] == expect_ok, (name, arguments, content)
                assert is_error(result) != expect_ok, (name, result)
                assert text(result), (name, result)
            logs = await session.call_tool("logs", {"service": "web", "tail": 2})
            assert "line 3" in text(logs), text(logs)
    print("ok")


asyncio.run(main(sys.argv[1], sys.argv[2]))
