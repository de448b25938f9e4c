//! A SLSA Provenance v1 predicate (`https://slsa.dev/provenance/v1`) for `keyseal attest
//! --provenance`, built from what the CI system says about the build: GitHub Actions' and
//! GitLab CI's variables name the builder, the source (repository, ref, commit), the
//! workflow and the run. Outside CI nothing says so, and the predicate is refused unless
//! the flags give every field: provenance that no one vouched for is worse than none.
//!
//! keyseal signs after the build, in the same job, so this is provenance at SLSA Build L1/L2
//! strength (the builder is the CI workflow itself, not an isolated builder); the builder id
//! names that workflow, and verifiers should treat it so.

use crate::release::ReleaseError;
use serde_json::{Value, json};

/// The predicate type of SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// GitHub's build type for a workflow run.
pub const GITHUB_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";

/// What the flags say; each overrides the CI system's value.
#[derive(Debug, Default, Clone)]
pub struct ProvenanceFlags {
    /// `--builder-id`.
    pub builder_id: Option<String>,
    /// `--build-type`.
    pub build_type: Option<String>,
    /// `--source-uri`: the repository, e.g. `https://github.com/OWNER/REPO`.
    pub source_uri: Option<String>,
    /// `--source-ref`: the ref built, e.g. `refs/tags/v1.2.0`.
    pub source_ref: Option<String>,
    /// `--source-commit`: the commit built (hex).
    pub source_commit: Option<String>,
    /// `--invocation-id`: the run, e.g. its URL.
    pub invocation_id: Option<String>,
}

/// The facts of one build, however learnt.
#[derive(Debug, Default)]
struct Build {
    builder_id: Option<String>,
    build_type: Option<String>,
    source_uri: Option<String>,
    source_ref: Option<String>,
    source_commit: Option<String>,
    invocation_id: Option<String>,
    external: Value,
}

/// The predicate for a build, from `env` (the process environment, or a test's) and
/// `flags`, finished at `now` (Unix seconds).
pub fn predicate(
    env: &dyn Fn(&str) -> Option<String>,
    flags: &ProvenanceFlags,
    now: i64,
) -> Result<Value, ReleaseError> {
    let var = |name: &str| env(name).filter(|value| !value.is_empty());
    let mut build = if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        github(&var)
    } else if var("GITLAB_CI").as_deref() == Some("true") {
        gitlab(&var)
    } else {
        Build { external: json!({}), ..Build::default() }
    };
    let choose = |flag: &Option<String>, found: &mut Option<String>| {
        if flag.is_some() {
            found.clone_from(flag);
        }
    };
    choose(&flags.builder_id, &mut build.builder_id);
    choose(&flags.build_type, &mut build.build_type);
    choose(&flags.source_uri, &mut build.source_uri);
    choose(&flags.source_ref, &mut build.source_ref);
    choose(&flags.source_commit, &mut build.source_commit);
    choose(&flags.invocation_id, &mut build.invocation_id);
    let missing: Vec<&str> = [
        ("--builder-id", &build.builder_id),
        ("--build-type", &build.build_type),
        ("--source-uri", &build.source_uri),
        ("--source-ref", &build.source_ref),
        ("--source-commit", &build.source_commit),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_none())
    .map(|(flag, _)| flag)
    .collect();
    if !missing.is_empty() {
        return Err(ReleaseError::Input(format!(
            "--provenance needs to know the build: run it in GitHub Actions or GitLab CI, or give {}",
            missing.join(", ")
        )));
    }
    let (source, reference, commit) = (
        build.source_uri.unwrap_or_default(),
        build.source_ref.unwrap_or_default(),
        build.source_commit.unwrap_or_default(),
    );
    let mut metadata = json!({ "finishedOn": crate::clock::format_unix(now) });
    if let Some(id) = build.invocation_id {
        metadata["invocationId"] = Value::from(id);
    }
    let mut external = build.external;
    if external.as_object().is_none_or(|o| o.is_empty()) {
        external = json!({ "source": source, "ref": reference });
    }
    Ok(json!({
        "buildDefinition": {
            "buildType": build.build_type,
            "externalParameters": external,
            "resolvedDependencies": [{ "uri": format!("git+{source}@{reference}"), "digest": { "gitCommit": commit } }],
        },
        "runDetails": {
            "builder": { "id": build.builder_id },
            "metadata": metadata,
        },
    }))
}

/// GitHub Actions: the builder is the workflow (`GITHUB_WORKFLOW_REF`), the source the
/// repository at `GITHUB_REF` and `GITHUB_SHA`, the invocation the run's attempt.
fn github(var: &dyn Fn(&str) -> Option<String>) -> Build {
    let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let repository = var("GITHUB_REPOSITORY");
    let source_uri = repository.as_ref().map(|r| format!("{server}/{r}"));
    let workflow_ref = var("GITHUB_WORKFLOW_REF");
    // OWNER/REPO/.github/workflows/release.yml@refs/heads/main: the path is between them.
    let workflow_path = match (&workflow_ref, &repository) {
        (Some(w), Some(r)) => {
            w.strip_prefix(&format!("{r}/")).and_then(|rest| rest.split('@').next()).map(String::from)
        }
        _ => None,
    };
    let invocation_id = match (&source_uri, var("GITHUB_RUN_ID")) {
        (Some(source), Some(run)) => Some(format!(
            "{source}/actions/runs/{run}/attempts/{}",
            var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into())
        )),
        _ => None,
    };
    Build {
        builder_id: workflow_ref.map(|w| format!("{server}/{w}")),
        build_type: Some(GITHUB_BUILD_TYPE.into()),
        source_ref: var("GITHUB_REF"),
        source_commit: var("GITHUB_SHA"),
        invocation_id,
        external: json!({
            "workflow": { "ref": var("GITHUB_REF"), "repository": source_uri, "path": workflow_path },
        }),
        source_uri,
    }
}

/// GitLab CI: the builder is the project's runner, the source the project at the commit
/// built, the invocation the job.
fn gitlab(var: &dyn Fn(&str) -> Option<String>) -> Build {
    let server = var("CI_SERVER_URL").unwrap_or_else(|| "https://gitlab.com".into());
    let runner = var("CI_RUNNER_ID");
    let builder_id = match (var("CI_PROJECT_PATH"), runner) {
        (Some(project), Some(runner)) => Some(format!("{server}/{project}/-/runners/{runner}")),
        _ => None,
    };
    let version = var("CI_RUNNER_VERSION").map(|v| format!("v{}", v.trim_start_matches('v')));
    Build {
        builder_id,
        build_type: Some(format!(
            "https://gitlab.com/gitlab-org/gitlab-runner/-/blob/{}/PROVENANCE.md",
            version.unwrap_or_else(|| "main".into())
        )),
        source_uri: var("CI_PROJECT_URL"),
        source_ref: var("CI_COMMIT_REF_NAME"),
        source_commit: var("CI_COMMIT_SHA"),
        invocation_id: var("CI_JOB_URL"),
        external: json!({
            "source": var("CI_PROJECT_URL"),
            "entryPoint": var("CI_CONFIG_PATH"),
            "ref": var("CI_COMMIT_REF_NAME"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn github_actions_names_the_workflow_the_source_and_the_run() {
        let env = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "example/app"),
            ("GITHUB_REF", "refs/tags/v1.2.0"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_WORKFLOW_REF", "example/app/.github/workflows/release.yml@refs/tags/v1.2.0"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]);
        let predicate = predicate(&env, &ProvenanceFlags::default(), 0).unwrap();
        assert_eq!(
            predicate["runDetails"]["builder"]["id"],
            "https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1.2.0"
        );
        assert_eq!(predicate["buildDefinition"]["buildType"], GITHUB_BUILD_TYPE);
        assert_eq!(
            predicate["buildDefinition"]["externalParameters"]["workflow"]["path"],
            ".github/workflows/release.yml"
        );
        let dependency = &predicate["buildDefinition"]["resolvedDependencies"][0];
        assert_eq!(dependency["uri"], "git+https://github.com/example/app@refs/tags/v1.2.0");
        assert_eq!(dependency["digest"]["gitCommit"], "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(
            predicate["runDetails"]["metadata"]["invocationId"],
            "https://github.com/example/app/actions/runs/42/attempts/2"
        );
        assert_eq!(predicate["runDetails"]["metadata"]["finishedOn"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn gitlab_ci_names_the_runner_the_project_and_the_job() {
        let env = env(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/group/app"),
            ("CI_RUNNER_ID", "7"),
            ("CI_RUNNER_VERSION", "17.5.0"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_SHA", "abc"),
            ("CI_JOB_URL", "https://gitlab.example.com/group/app/-/jobs/9"),
            ("CI_CONFIG_PATH", ".gitlab-ci.yml"),
        ]);
        let predicate = predicate(&env, &ProvenanceFlags::default(), 0).unwrap();
        assert_eq!(predicate["runDetails"]["builder"]["id"], "https://gitlab.example.com/group/app/-/runners/7");
        assert_eq!(
            predicate["buildDefinition"]["buildType"],
            "https://gitlab.com/gitlab-org/gitlab-runner/-/blob/v17.5.0/PROVENANCE.md"
        );
        assert_eq!(
            predicate["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "git+https://gitlab.example.com/group/app@main"
        );
        assert_eq!(
            predicate["runDetails"]["metadata"]["invocationId"],
            "https://gitlab.example.com/group/app/-/jobs/9"
        );
    }

    #[test]
    fn outside_ci_every_field_must_be_given() {
        let refused = predicate(&env(&[]), &ProvenanceFlags::default(), 0).unwrap_err().to_string();
        assert!(
            refused.contains("--builder-id, --build-type, --source-uri, --source-ref, --source-commit"),
            "{refused}"
        );
        let flags = ProvenanceFlags {
            builder_id: Some("https://ci.example.com/release".into()),
            build_type: Some("https://ci.example.com/buildtypes/make/v1".into()),
            source_uri: Some("https://git.example.com/app".into()),
            source_ref: Some("refs/tags/v1".into()),
            source_commit: Some("abc".into()),
            invocation_id: None,
        };
        let predicate = predicate(&env(&[]), &flags, 0).unwrap();
        assert_eq!(predicate["runDetails"]["builder"]["id"], "https://ci.example.com/release");
        assert!(predicate["runDetails"]["metadata"].get("invocationId").is_none());
        // A flag wins over what CI says.
        let github = env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_REPOSITORY", "a/b")]);
        let mixed = super::predicate(&github, &flags, 0).unwrap();
        assert_eq!(mixed["runDetails"]["builder"]["id"], "https://ci.example.com/release");
    }
}
