//! The layers of src/ stay as the README draws them: commands (main.rs, cli.rs, cmd/, server)
//! over the credential engine (engine/) over the ground (everything else). Imports go down,
//! never up, and no files import each other in a circle. Reads the sources as text: every
//! `crate::a::b` path is an edge to the file that defines module a::b.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Ground,
    Engine,
    Commands,
}

fn layer(file: &str) -> Layer {
    let top = ["main.rs", "cli.rs", "server.rs"];
    if top.contains(&file) || file.starts_with("cmd/") || file.starts_with("server/") {
        Layer::Commands
    } else if file.starts_with("engine/") {
        Layer::Engine
    } else {
        Layer::Ground
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under src/, by its path relative to src/, with its text minus comments.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&p).unwrap();
                let code: Vec<&str> = text
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect();
                out.insert(rel, code.join("\n"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &src(), &mut out);
    out
}

/// The module path a file defines: `engine/mod.rs` → ["engine"], `cache/key.rs` →
/// ["cache", "key"].
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Which file each file's `crate::` paths lead to.
fn edges(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let by_module: BTreeMap<Vec<String>, String> =
        files.keys().map(|f| (module_of(f), f.clone())).collect();
    let resolve = |segs: &[String]| -> Option<String> {
        (1..=segs.len())
            .rev()
            .find_map(|n| by_module.get(&segs[..n]).cloned())
    };
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = BTreeMap::new();
    for (file, text) in files {
        let mut targets = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            if text[..i].chars().next_back().is_some_and(ident) {
                continue;
            }
            let rest = &text[i + "crate::".len()..];
            let mut segs: Vec<String> = Vec::new();
            let mut r = rest;
            loop {
                let name: String = r.chars().take_while(|c| ident(*c)).collect();
                if name.is_empty() {
                    break;
                }
                r = &r[name.len()..];
                segs.push(name);
                match r.strip_prefix("::") {
                    Some(next) => r = next,
                    None => break,
                }
            }
            if let Some(group) = r.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let first: String = item.trim().chars().take_while(|c| ident(*c)).collect();
                    let mut path = segs.clone();
                    if !first.is_empty() && first != "self" {
                        path.push(first);
                    }
                    targets.extend(resolve(&path));
                }
            } else {
                targets.extend(resolve(&segs));
            }
        }
        targets.remove(file);
        out.insert(file.clone(), targets);
    }
    out
}

/// Groups of two or more files that reach each other (Tarjan's strongly connected
/// components).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_import_circle() {
    let found = circles(&edges(&sources()));
    assert!(found.is_empty(), "import circles in src/: {found:?}");
}

#[test]
fn imports_go_down_never_up() {
    let files = sources();
    let mut wrong = Vec::new();
    for (file, targets) in edges(&files) {
        for t in targets {
            if layer(&t) > layer(&file) {
                wrong.push(format!("{file} -> {t}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that go up a layer: {wrong:?}");
}

#[test]
fn clap_stays_in_the_command_layer() {
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if layer(&file) == Layer::Commands || file == "lib.rs" {
            continue;
        }
        // The one exception: the shell table, whose choices are clap values (as in zoxide
        // and fnm) and whose files hold each shell's completion generator (an EnvCompleter,
        // whose `write_complete` is handed the `clap::Command` to complete).
        let allowed = file.starts_with("shell/");
        for line in text.lines().filter(|l| l.contains("clap")) {
            let ok = allowed
                && (line.contains("ValueEnum")
                    || line.contains("PossibleValue")
                    || line.contains("clap_complete::env::")
                    || line.contains("clap_complete::engine::")
                    || line.trim() == "cmd: &mut clap::Command,");
            if !ok {
                wrong.push(format!("{file}: {}", line.trim()));
            }
        }
    }
    assert!(wrong.is_empty(), "clap outside the commands: {wrong:?}");
}

/// The commands (and the server) use the engine through its face, engine/mod.rs, never its
/// inner modules: the plan, the chain walk, the sources and the sign-in are its own.
#[test]
fn commands_use_only_the_engines_face() {
    let mut wrong = Vec::new();
    for (file, text) in sources() {
        if layer(&file) != Layer::Commands {
            continue;
        }
        for inner in ["chain", "obtain", "plan", "request", "signin", "source"] {
            for pattern in [
                format!("engine::{inner}::"),
                format!("engine::{{{inner}"),
                format!("engine::{inner};"),
            ] {
                if text.contains(&pattern) {
                    wrong.push(format!("{file}: {pattern}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "commands reaching into the engine: {wrong:?}"
    );
}

#[test]
fn the_check_itself_sees_circles_and_upward_imports() {
    let mut files = BTreeMap::new();
    files.insert("a.rs".to_string(), "use crate::b::X;".to_string());
    files.insert(
        "b/mod.rs".to_string(),
        "use crate::{a, cmd::run};".to_string(),
    );
    files.insert("cmd/mod.rs".to_string(), String::new());
    let graph = edges(&files);
    assert_eq!(
        circles(&graph),
        vec![vec!["a.rs".to_string(), "b/mod.rs".to_string()]]
    );
    assert!(graph["b/mod.rs"].contains("cmd/mod.rs"));
    assert!(layer("cmd/mod.rs") > layer("b/mod.rs"));
}
