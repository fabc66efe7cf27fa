//! The configured REST APIs' tools (and prompts) added to the server, each API whole or not at all: an API
//! whose index is missing or invalid, or whose tool names are taken already (a built-in tool or another API),
//! is left out and reported, and the rest of the server works as before.

use std::rc::Rc;

use crate::handler::{PromptRegistry, Server, ToolFilter, ToolRegistry};
use crate::openapi::loader::LoadedApis;
use crate::openapi::{tools, Api};

/// How one configured API is served: a description, or why it is not.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiStatus {
    pub name: String,
    pub served: Result<String, String>,
}

/// `server` with the tools of every API that loaded (`apis`: by name, the API or why it did not load).
pub fn add_apis(mut server: Server, apis: LoadedApis, exposure: &ToolFilter) -> (Server, Vec<ApiStatus>) {
    let mut statuses = Vec::new();
    for (name, loaded) in apis {
        let served = match loaded.and_then(|api| registries(&server, &api, exposure)) {
            Ok((tools, prompts, detail)) => {
                server = server.add(tools, prompts);
                Ok(detail)
            }
            Err(why) => Err(why),
        };
        statuses.push(ApiStatus { name, served });
    }
    (server, statuses)
}

/// `api`'s tools and prompts, unless one of their names is taken in `server`; and how it is served.
fn registries(
    server: &Server,
    api: &Rc<Api>,
    exposure: &ToolFilter,
) -> Result<(ToolRegistry, PromptRegistry, String), String> {
    let tools = tools::tools(api, exposure)?;
    let prompts = if api.settings.prompts { tools::prompts(api) } else { PromptRegistry::default() };
    let (have_tools, have_prompts) = server.registries();
    let taken = tools
        .names()
        .find(|n| have_tools.contains(n))
        .or_else(|| prompts.names().find(|n| have_prompts.contains(n)));
    if let Some(taken) = taken {
        return Err(format!(
            "the name {taken} is taken already (by a built-in tool or prompt, or another API): set {} to tell \
             them apart",
            api.settings.setting("TOOL_PREFIX")
        ));
    }
    let operations = api.index.operations.len();
    let mut detail = if api.is_large() {
        format!("{operations} operations through 3 tools (more than {})", api.settings.max_tools)
    } else {
        format!("{operations} operations as tools")
    };
    if !prompts.is_empty() {
        detail.push_str(", with prompts");
    }
    Ok((tools, prompts, detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::LocalFuture;
    use crate::openapi::answer::Received;
    use crate::openapi::request::OutgoingRequest;
    use crate::openapi::{parse_index, settings, Backend};

    struct Unused;

    impl Backend for Unused {
        fn send(&self, _: OutgoingRequest, _: u64, _: usize) -> LocalFuture<'_, Result<Received, String>> {
            Box::pin(async { Err("unused".to_string()) })
        }
        fn now_ms(&self) -> u64 {
            0
        }
        fn boundary(&self) -> String {
            "b".into()
        }
    }

    fn api(name: &str, prefix: &str, rename_first: Option<&str>) -> Rc<Api> {
        let upper = name.to_ascii_uppercase();
        let map: std::collections::HashMap<String, String> = [
            ("OPENAPI_APIS".to_string(), name.to_string()),
            (format!("OPENAPI_{upper}_BASE_URL"), "https://api.example".to_string()),
            (format!("OPENAPI_{upper}_TOOL_PREFIX"), prefix.to_string()),
            (format!("OPENAPI_{upper}_PROMPTS"), "true".to_string()),
        ]
        .into();
        let settings = settings::parse(&|k| map.get(k).cloned(), false).unwrap().remove(0);
        let mut index = parse_index(include_str!("../../tests/e2e/fixtures/openapi/zoo.json")).unwrap();
        if let Some(new_name) = rename_first {
            index.operations[0].name = new_name.into();
        }
        Rc::new(Api { settings, index, tokens: Default::default(), backend: Rc::new(Unused) })
    }

    fn base() -> Server {
        crate::toolset::server(
            Rc::new(crate::documents::StaticDocuments(Rc::new(crate::documents::Corpus::bundled()))),
            50,
            crate::toolset::Fixtures::None,
        )
    }

    #[test]
    fn an_api_whose_names_are_taken_is_left_out_whole_and_reported() {
        let apis = vec![
            ("zoo".to_string(), Ok(api("zoo", "", None))),
            ("again".to_string(), Ok(api("again", "", None))),
            ("shadow".to_string(), Ok(api("shadow", "x_", Some("echo")))),
            ("clash".to_string(), Ok(api("clash", "", Some("echo")))),
            ("missing".to_string(), Err("no index".to_string())),
            ("other".to_string(), Ok(api("other", "o_", None))),
        ];
        let (server, statuses) = add_apis(base(), apis, &ToolFilter::all());
        let served: Vec<(&str, bool)> =
            statuses.iter().map(|s| (s.name.as_str(), s.served.is_ok())).collect();
        assert_eq!(
            served,
            [
                ("zoo", true),
                ("again", false),
                ("shadow", true),
                ("clash", false),
                ("missing", false),
                ("other", true)
            ]
        );
        assert!(statuses[1].served.as_ref().unwrap_err().contains("OPENAPI_AGAIN_TOOL_PREFIX"));
        assert_eq!(statuses[0].served, Ok("9 operations as tools, with prompts".to_string()));
        let (tools, prompts) = server.registries();
        assert!(tools.contains("getAnimal") && tools.contains("x_echo") && tools.contains("o_getAnimal"));
        assert!(prompts.contains("o_listAnimals"));
        assert_eq!(tools.len(), 4 + 9 * 3, "the built-ins and three APIs");
    }
}
