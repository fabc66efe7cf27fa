//! `echo`: returns its message; handy for checking a connection end to end.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::handler::ToolDef;
use crate::model::tool::CallToolResult;

#[derive(Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// The text to send back.
    pub message: String,
}

pub fn tool() -> ToolDef {
    ToolDef::new("echo", "Returns the given message unchanged.", |args: EchoArgs, _cx| async move {
        Ok(CallToolResult::text(args.message))
    })
    .title("Echo")
    .read_only()
    .open_world(false)
}
