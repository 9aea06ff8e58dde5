//! `orch mcp`: the client's verbs as Model Context Protocol tools on stdio (an adapter, no logic
//! of its own). Filled in by the MCP work.
