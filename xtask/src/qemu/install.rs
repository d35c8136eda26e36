//! Installing QEMU >= 9 on Debian 12 from bookworm-backports (Debian 12's own QEMU is 7.2).
//!
//! The backports source reuses the URI (and keyring) of the machine's existing Debian source,
//! so mirrors and snapshot setups keep working; no host name is hard-coded.

use super::discover::{self, Found, Qemu, MIN_VERSION};
use crate::util;
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;

/// The source file we add.
pub const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/gupbed-backports.sources";
const PACKAGE: &str = "qemu-system-arm";

/// The bits of `/etc/os-release` we use.
#[derive(Debug, Default, PartialEq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: String,
    pub codename: String,
}

pub fn parse_os_release(text: &str) -> OsRelease {
    let mut r = OsRelease::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => r.id = v,
            "ID_LIKE" => r.id_like = v,
            "VERSION_CODENAME" => r.codename = v,
            _ => {}
        }
    }
    r
}

/// One APT source (a deb822 stanza or a one-line `deb` entry).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AptSource {
    pub types: Vec<String>,
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub signed_by: Option<String>,
    pub enabled: bool,
}

/// Parse a deb822 `.sources` file (stanzas separated by blank lines; `#` comments).
pub fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    let mut cur: Option<AptSource> = None;
    let mut last_key = String::new();
    let flush = |cur: &mut Option<AptSource>, out: &mut Vec<AptSource>| {
        if let Some(s) = cur.take() {
            if !s.uris.is_empty() {
                out.push(s);
            }
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let s = cur.get_or_insert_with(|| AptSource {
            enabled: true,
            ..Default::default()
        });
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation: only list-valued keys matter to us (inline keys are skipped).
            let words = line.split_whitespace().map(String::from);
            match last_key.as_str() {
                "uris" => s.uris.extend(words),
                "suites" => s.suites.extend(words),
                "components" => s.components.extend(words),
                _ => {}
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        last_key = k.trim().to_ascii_lowercase();
        let words: Vec<String> = v.split_whitespace().map(String::from).collect();
        match last_key.as_str() {
            "types" => s.types = words,
            "uris" => s.uris = words,
            "suites" => s.suites = words,
            "components" => s.components = words,
            "signed-by" if !v.trim().is_empty() => s.signed_by = Some(v.trim().to_string()),
            "enabled" => s.enabled = v.trim().eq_ignore_ascii_case("yes"),
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Parse one-line sources (`deb [opts] uri suite component...`).
pub fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut rest = line;
        let Some((ty, r)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        if ty != "deb" && ty != "deb-src" {
            continue;
        }
        rest = r.trim_start();
        let mut signed_by = None;
        if let Some(r) = rest.strip_prefix('[') {
            let Some((opts, r)) = r.split_once(']') else {
                continue;
            };
            for o in opts.split_whitespace() {
                if let Some(v) = o.strip_prefix("signed-by=") {
                    signed_by = Some(v.to_string());
                }
            }
            rest = r.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        out.push(AptSource {
            types: vec![ty.into()],
            uris: vec![uri.into()],
            suites: vec![suite.into()],
            components: words.map(String::from).collect(),
            signed_by,
            enabled: true,
        });
    }
    out
}

/// The machine's main Debian source for `codename`: its first URI and keyring.
pub fn debian_mirror(sources: &[AptSource], codename: &str) -> Option<(String, Option<String>)> {
    sources
        .iter()
        .filter(|s| s.enabled && s.types.iter().any(|t| t == "deb"))
        .find(|s| s.suites.iter().any(|x| x == codename))
        .and_then(|s| s.uris.first().map(|u| (u.clone(), s.signed_by.clone())))
}

/// Whether a `<codename>-backports` source is already enabled.
pub fn has_backports(sources: &[AptSource], codename: &str) -> bool {
    let want = format!("{codename}-backports");
    sources
        .iter()
        .any(|s| s.enabled && s.types.iter().any(|t| t == "deb") && s.suites.contains(&want))
}

/// The deb822 stanza we write.
pub fn backports_stanza(uri: &str, signed_by: Option<&str>, codename: &str) -> String {
    let mut s = format!(
        "# Added by `cargo xtask setup` (gupbed): QEMU >= 9 comes from backports on Debian 12.\n\
         Types: deb\nURIs: {uri}\nSuites: {codename}-backports\nComponents: main\n"
    );
    if let Some(k) = signed_by {
        s.push_str(&format!("Signed-By: {k}\n"));
    }
    s
}

/// Every APT source on this machine: `debian.sources` first (the usual Debian 12 layout).
pub fn read_sources(etc_apt: &Path) -> Vec<AptSource> {
    let mut out = Vec::new();
    let dir = etc_apt.join("sources.list.d");
    if let Ok(t) = std::fs::read_to_string(dir.join("debian.sources")) {
        out.extend(parse_deb822(&t));
    }
    if let Ok(t) = std::fs::read_to_string(etc_apt.join("sources.list")) {
        out.extend(parse_one_line(&t));
    }
    let mut others: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    others.sort();
    for p in others {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "debian.sources" {
            continue;
        }
        let Ok(t) = std::fs::read_to_string(&p) else {
            continue;
        };
        if name.ends_with(".sources") {
            out.extend(parse_deb822(&t));
        } else if name.ends_with(".list") {
            out.extend(parse_one_line(&t));
        }
    }
    out
}

/// One step of an installation plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    WriteFile { path: String, content: String },
    Run(Vec<String>),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::WriteFile { path, content } => {
                write!(f, "cat > {path} <<'EOF'\n{content}EOF")
            }
            Step::Run(argv) => write!(f, "{}", argv.join(" ")),
        }
    }
}

/// The plan that installs QEMU >= 9 on this Debian release, or why there is none.
pub fn plan(os: &OsRelease, sources: &[AptSource]) -> Result<Vec<Step>, String> {
    let debian = os.id == "debian";
    if !debian {
        return Err(format!(
            "this is not Debian (ID={:?}): install QEMU >= {MIN_VERSION} with `{}` from your distribution \
             (package usually qemu-system-arm or qemu-system-aarch64), or set GUPBED_QEMU=/path/to/{}",
            os.id,
            discover::QEMU,
            discover::QEMU
        ));
    }
    let update = Step::Run(vec!["apt-get".into(), "update".into()]);
    if os.codename != "bookworm" {
        // Debian 13 and later ship QEMU >= 9 in the main suite.
        return Ok(vec![
            update,
            Step::Run(
                [
                    "apt-get",
                    "install",
                    "-y",
                    "--no-install-recommends",
                    PACKAGE,
                ]
                .map(String::from)
                .to_vec(),
            ),
        ]);
    }
    let mut steps = Vec::new();
    if !has_backports(sources, "bookworm") {
        let Some((uri, key)) = debian_mirror(sources, "bookworm") else {
            return Err(
                "no enabled `deb` source for suite bookworm found in /etc/apt: \
                        cannot derive the bookworm-backports URI"
                    .into(),
            );
        };
        steps.push(Step::WriteFile {
            path: BACKPORTS_FILE.into(),
            content: backports_stanza(&uri, key.as_deref(), "bookworm"),
        });
    }
    steps.push(update);
    steps.push(Step::Run(
        [
            // Without --no-install-recommends, `-t` gives every recommended package top
            // priority too: measured on a fresh bookworm, 366 packages and systemd upgraded
            // from backports; with it, 40 packages and nothing upgraded.
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-t",
            "bookworm-backports",
            PACKAGE,
        ]
        .map(String::from)
        .to_vec(),
    ));
    Ok(steps)
}

fn run_step(step: &Step) -> Result<()> {
    eprintln!("xtask: {step}");
    match step {
        Step::WriteFile { path, content } => {
            std::fs::write(path, content).with_context(|| format!("writing {path}"))
        }
        Step::Run(argv) => {
            let st = Command::new(&argv[0])
                .args(&argv[1..])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .with_context(|| format!("running {}", argv[0]))?;
            if !st.success() {
                bail!("`{}` failed ({st})", argv.join(" "));
            }
            Ok(())
        }
    }
}

fn describe(found: &Found) -> String {
    match found {
        Found::Ok(q) => format!("{} {} at {}", discover::QEMU, q.version, q.path.display()),
        Found::TooOld(q) => format!(
            "{} {} at {} is too old (need >= {MIN_VERSION}: the raspi4b machine arrived in 9.0)",
            discover::QEMU,
            q.version,
            q.path.display()
        ),
        Found::Missing => format!("{} not found on PATH", discover::QEMU),
    }
}

/// Return a QEMU >= 9, installing it when that is allowed here (Debian, root, and CI or an
/// interactive terminal); otherwise stop with the exact commands to run. `check_only` never
/// installs.
pub fn ensure(check_only: bool) -> Result<Qemu> {
    let found = discover::discover()?;
    if let Found::Ok(q) = found {
        return Ok(q);
    }
    eprintln!("xtask: {}", describe(&found));
    if std::env::var_os(discover::ENV_OVERRIDE).is_some() {
        bail!(
            "{} names this QEMU: point it at a QEMU >= {MIN_VERSION} or unset it",
            discover::ENV_OVERRIDE
        );
    }
    let os = parse_os_release(&std::fs::read_to_string("/etc/os-release").unwrap_or_default());
    let steps = match plan(&os, &read_sources(Path::new("/etc/apt"))) {
        Ok(s) => s,
        Err(why) => bail!("{why}"),
    };
    let listing: Vec<String> = steps.iter().map(|s| format!("  {s}")).collect();
    let may_install = util::is_root() && (util::is_ci() || std::io::stdin().is_terminal());
    if check_only || !may_install {
        let why = if check_only {
            "--check-only given"
        } else if !util::is_root() {
            "not running as root"
        } else {
            "neither CI=true nor an interactive terminal"
        };
        bail!(
            "QEMU >= {MIN_VERSION} is needed ({why}). As root, run:\n{}\n(or run `cargo xtask setup` as root)",
            listing.join("\n")
        );
    }
    eprintln!(
        "xtask: installing QEMU (Debian {}):\n{}",
        os.codename,
        listing.join("\n")
    );
    for s in &steps {
        run_step(s)?;
    }
    match discover::discover()? {
        Found::Ok(q) => {
            eprintln!("xtask: installed {}", describe(&Found::Ok(q.clone())));
            Ok(q)
        }
        other => bail!("after installing: {}", describe(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_SOURCES: &str = "Types: deb\n\
# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
URIs: http://deb.debian.org/debian\n\
Suites: bookworm bookworm-updates\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
\n\
Types: deb\n\
URIs: http://deb.debian.org/debian-security\n\
Suites: bookworm-security\n\
Components: main\n\
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

    fn bookworm() -> OsRelease {
        parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
    }

    #[test]
    fn parses_deb822_stanzas() {
        let s = parse_deb822(DEBIAN_SOURCES);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(s[1].uris, ["http://deb.debian.org/debian-security"]);
        assert_eq!(
            debian_mirror(&s, "bookworm"),
            Some((
                "http://deb.debian.org/debian".into(),
                Some("/usr/share/keyrings/debian-archive-keyring.gpg".into())
            ))
        );
        assert!(!has_backports(&s, "bookworm"));
    }

    #[test]
    fn deb822_continuations_and_disabled_stanzas() {
        let s = parse_deb822(
            "Types: deb\nURIs:\n http://mirror.example/debian\nSuites: bookworm\nEnabled: no\n\n\
             Types: deb deb-src\nURIs: https://m2.example/deb\nSuites: bookworm\n",
        );
        assert_eq!(s.len(), 2);
        assert!(!s[0].enabled);
        assert_eq!(s[0].uris, ["http://mirror.example/debian"]);
        assert_eq!(
            debian_mirror(&s, "bookworm").unwrap().0,
            "https://m2.example/deb"
        );
    }

    #[test]
    fn parses_one_line_sources() {
        let s = parse_one_line(
            "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian bookworm main contrib\n\
             deb-src http://x/debian bookworm main\ndeb http://x/debian bookworm-backports main # bp\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].signed_by.as_deref(), Some("/k.gpg"));
        assert_eq!(s[0].components, ["main", "contrib"]);
        assert_eq!(
            debian_mirror(&s, "bookworm"),
            Some((
                "http://ftp.de.debian.org/debian".into(),
                Some("/k.gpg".into())
            ))
        );
        assert!(has_backports(&s, "bookworm"));
    }

    #[test]
    fn plan_adds_backports_from_the_existing_uri() {
        let steps = plan(&bookworm(), &parse_deb822(DEBIAN_SOURCES)).unwrap();
        let Step::WriteFile { path, content } = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(path, BACKPORTS_FILE);
        assert!(
            content.contains("URIs: http://deb.debian.org/debian\n"),
            "{content}"
        );
        assert!(content.contains("Suites: bookworm-backports\n"));
        assert!(content.contains("Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
        // What we write parses back as an enabled backports source.
        assert!(has_backports(&parse_deb822(content), "bookworm"));
        assert_eq!(steps[1], Step::Run(vec!["apt-get".into(), "update".into()]));
        assert_eq!(
            steps[2].to_string(),
            "apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-arm"
        );
    }

    #[test]
    fn plan_skips_the_file_when_backports_exist() {
        let mut s = parse_deb822(DEBIAN_SOURCES);
        s.extend(parse_deb822(
            "Types: deb\nURIs: http://m/debian\nSuites: bookworm-backports\n",
        ));
        let steps = plan(&bookworm(), &s).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(matches!(steps[0], Step::Run(_)));
    }

    #[test]
    fn plan_refuses_without_a_debian_source_or_debian() {
        assert!(plan(&bookworm(), &[]).unwrap_err().contains("no enabled"));
        let ubuntu = parse_os_release("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        assert!(plan(&ubuntu, &[]).unwrap_err().contains("not Debian"));
        let trixie = parse_os_release("ID=debian\nVERSION_CODENAME=trixie\n");
        assert_eq!(
            plan(&trixie, &[]).unwrap()[1].to_string(),
            "apt-get install -y --no-install-recommends qemu-system-arm"
        );
    }
}
