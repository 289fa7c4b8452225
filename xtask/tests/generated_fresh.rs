//! The committed man page and completions must match what the clap definition in
//! src/flags/definition.rs generates now. When a flag or help text changes, this fails until
//! `cargo xtask gen` is run and its output committed.

use std::fs;

#[test]
fn committed_files_match_the_clap_definition() {
    let stale = xtask::stale(&xtask::repo_root());
    assert!(
        stale.is_empty(),
        "generated packaging files are stale:\n  {}\nrun `{}` at the repository root and \
         commit the result (the man page and completions are never edited by hand)",
        stale.join("\n  "),
        xtask::REGEN_COMMAND
    );
}

/// Guards against a generator that drops flags: every long flag of the plugin shows up in
/// the man page and in every completion script.
#[test]
fn every_flag_is_in_the_man_page_and_completions() {
    use clap::CommandFactory;
    let cmd = check_openvpn::flags::Cli::command();
    let files = xtask::generated();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        for g in &files {
            let text = String::from_utf8_lossy(&g.contents);
            // roff escapes '-' as '\-'.
            let needle = if g.path.ends_with(".1") {
                format!("\\-\\-{}", long.replace('-', "\\-"))
            } else {
                long.to_string()
            };
            assert!(text.contains(&needle), "{} lacks --{long}", g.path);
        }
    }
}

/// The generator is a pure function of the clap definition: two runs give the same bytes
/// (no dates, no paths), so the freshness check cannot flap.
#[test]
fn generation_is_deterministic() {
    assert_eq!(xtask::generated(), xtask::generated());
    let man = String::from_utf8(xtask::man_page()).expect("man page is UTF-8");
    assert!(
        man.contains("\n.TH check_openvpn 1 "),
        "no title line:\n{man}"
    );
    assert!(!man.contains(env!("CARGO_MANIFEST_DIR")));
}

/// `write_all` into a scratch tree produces files that `stale` accepts.
#[test]
fn write_all_then_stale_is_empty() {
    let dir = std::env::temp_dir().join(format!("xtask-gen-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let changed = xtask::write_all(&dir).expect("write generated files");
    assert_eq!(changed.len(), xtask::generated().len());
    assert!(xtask::stale(&dir).is_empty());
    assert!(xtask::write_all(&dir).expect("rewrite").is_empty());
    fs::write(dir.join("packaging/completions/_check_openvpn"), "stale").unwrap();
    let stale = xtask::stale(&dir);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(
        stale[0].contains("_check_openvpn is out of date"),
        "{stale:?}"
    );
    let _ = fs::remove_dir_all(&dir);
}
