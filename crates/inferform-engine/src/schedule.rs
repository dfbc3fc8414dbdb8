//! The order an apply carries changes out in: which step waits for which.
//!
//! Most changes are one step. A destroy-then-create replacement is two, its destroy and its
//! create, because the two halves order differently against their neighbours: what is made
//! waits for what it depends on to be made, and what is removed waits for whatever depended
//! on it to be removed first. Replacing an endpoint together with the service instance on it
//! therefore goes instance destroy, endpoint destroy, endpoint create, instance create, the
//! only order in which a cloud that refuses to delete a parent still in use accepts it.

use std::collections::BTreeMap;

use inferform_types::ResourceAddr;

use crate::plan::ResourceChange;
use crate::Action;

/// Which part of its change a step carries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// The whole change.
    Whole,
    /// The destroy half of a destroy-then-create replacement.
    Destroy,
    /// The create half of a destroy-then-create replacement.
    Create,
}

/// One unit of work for the apply's scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// Index into the plan's changes.
    pub change: usize,
    pub part: Part,
}

impl Step {
    /// The action this step reports while it runs: a replacement's halves read as the
    /// destroy and the create they are (`Destroying...`, then `Creating...`).
    pub fn action(&self, changes: &[ResourceChange]) -> Action {
        match self.part {
            Part::Whole => changes[self.change].action,
            Part::Destroy => Action::Delete,
            Part::Create => Action::Create,
        }
    }
}

/// The step that makes a change's new object, if it makes one.
fn making(change: &ResourceChange) -> Option<Part> {
    match change.action {
        // A forgotten object is neither made nor removed from its cloud: nothing waits.
        Action::Delete | Action::NoOp | Action::Forget => None,
        Action::Replace {
            create_first: false,
        } => Some(Part::Create),
        _ => Some(Part::Whole),
    }
}

/// The step that removes a change's old object while others may still use it, if any. A
/// create-first replacement removes its old object only once the new one stands, so it has
/// none to order.
fn removing(change: &ResourceChange) -> Option<Part> {
    match change.action {
        Action::Delete => Some(Part::Whole),
        Action::Replace {
            create_first: false,
        } => Some(Part::Destroy),
        _ => None,
    }
}

/// The steps for `changes`, and which steps each step must wait for (indexes into the steps).
pub(crate) fn steps(changes: &[ResourceChange]) -> (Vec<Step>, Vec<Vec<usize>>) {
    let mut steps = Vec::with_capacity(changes.len());
    let mut index: BTreeMap<(usize, Part), usize> = BTreeMap::new();
    let mut add = |steps: &mut Vec<Step>, change, part| {
        index.insert((change, part), steps.len());
        steps.push(Step { change, part });
    };
    for (i, c) in changes.iter().enumerate() {
        match c.action {
            Action::Replace {
                create_first: false,
            } => {
                add(&mut steps, i, Part::Destroy);
                add(&mut steps, i, Part::Create);
            }
            _ => add(&mut steps, i, Part::Whole),
        }
    }
    let step = |change: usize, part: Part| index[&(change, part)];
    let mut waits = vec![Vec::new(); steps.len()];
    for (i, c) in changes.iter().enumerate() {
        if let (Some(_), Some(_)) = (removing(c), making(c)) {
            // A replacement's create waits for its own destroy.
            waits[step(i, Part::Create)].push(step(i, Part::Destroy));
        }
    }
    for (i, j) in depends_on(changes) {
        let (ci, cj) = (&changes[i], &changes[j]);
        if let (Some(pi), Some(pj)) = (making(ci), making(cj)) {
            waits[step(i, pi)].push(step(j, pj));
        }
        // i depends on j and both lose their old object: i's goes first.
        if let (Some(pi), Some(pj)) = (removing(ci), removing(cj)) {
            waits[step(j, pj)].push(step(i, pi));
        }
    }
    for w in &mut waits {
        w.sort_unstable();
        w.dedup();
    }
    (steps, waits)
}

/// Every pair `(i, j)` of changes where `i` depends on `j`. Dependencies name resource
/// blocks; within modules, an instance depends only on instances of module instances related
/// to its own (`module.env["a"]` not on `["b"]`).
fn depends_on(changes: &[ResourceChange]) -> Vec<(usize, usize)> {
    let mut by_resource: BTreeMap<ResourceAddr, Vec<usize>> = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        by_resource
            .entry(c.addr.resource.config_addr())
            .or_default()
            .push(i);
    }
    let mut pairs = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        for dep in &c.dependencies {
            for &j in by_resource.get(dep).map(Vec::as_slice).unwrap_or(&[]) {
                let other = &changes[j];
                if i != j && other.addr.resource.module.related(&c.addr.resource.module) {
                    pairs.push((i, j));
                }
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferform_types::ResourceInstanceAddr;

    fn change(addr: &str, action: Action, deps: &[&str]) -> ResourceChange {
        ResourceChange {
            addr: addr.parse().unwrap(),
            provider: "inferform".into(),
            action,
            before: None,
            after: None,
            replace_paths: vec![],
            dependencies: deps
                .iter()
                .map(|d| d.parse::<ResourceInstanceAddr>().unwrap().resource)
                .collect::<Vec<ResourceAddr>>(),
        }
    }

    /// The steps each step waits for, named `addr` or `addr/destroy`, `addr/create`.
    fn named(changes: &[ResourceChange]) -> Vec<(String, Vec<String>)> {
        let (steps, waits) = steps(changes);
        let name = |s: &Step| {
            let addr = changes[s.change].addr.to_string();
            match s.part {
                Part::Whole => addr,
                Part::Destroy => format!("{addr}/destroy"),
                Part::Create => format!("{addr}/create"),
            }
        };
        steps
            .iter()
            .zip(&waits)
            .map(|(s, w)| (name(s), w.iter().map(|&k| name(&steps[k])).collect()))
            .collect()
    }

    fn pairs(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        list.iter()
            .map(|(s, w)| (s.to_string(), w.iter().map(|x| x.to_string()).collect()))
            .collect()
    }

    #[test]
    fn creates_wait_for_dependencies_and_deletes_go_in_reverse() {
        let changes = vec![
            change("a.ws", Action::Create, &[]),
            change("a.ep", Action::Create, &["a.ws"]),
            change("b.ws", Action::Delete, &[]),
            change("b.ep", Action::Delete, &["b.ws"]),
        ];
        assert_eq!(
            named(&changes),
            pairs(&[
                ("a.ws", &[]),
                ("a.ep", &["a.ws"]),
                ("b.ws", &["b.ep"]),
                ("b.ep", &[]),
            ])
        );
    }

    #[test]
    fn a_replaced_parent_is_destroyed_after_its_replaced_dependents_and_created_before() {
        let replace = Action::Replace {
            create_first: false,
        };
        let changes = vec![
            change("a.ep", replace, &[]),
            change("a.si", replace, &["a.ep"]),
            change("a.watch", Action::Update, &["a.si"]),
        ];
        assert_eq!(
            named(&changes),
            pairs(&[
                ("a.ep/destroy", &["a.si/destroy"]),
                ("a.ep/create", &["a.ep/destroy"]),
                ("a.si/destroy", &[]),
                ("a.si/create", &["a.ep/create", "a.si/destroy"]),
                ("a.watch", &["a.si/create"]),
            ])
        );
    }

    #[test]
    fn a_replaced_parent_waits_for_deleted_dependents_and_create_first_keeps_one_step() {
        let changes = vec![
            change(
                "a.ep",
                Action::Replace {
                    create_first: false,
                },
                &[],
            ),
            change("a.old", Action::Delete, &["a.ep"]),
            change("a.si", Action::Replace { create_first: true }, &["a.ep"]),
        ];
        assert_eq!(
            named(&changes),
            pairs(&[
                ("a.ep/destroy", &["a.old"]),
                ("a.ep/create", &["a.ep/destroy"]),
                ("a.old", &[]),
                ("a.si", &["a.ep/create"]),
            ])
        );
    }

    #[test]
    fn module_instances_wait_only_for_their_own_instances() {
        let changes = vec![
            change("module.env[\"a\"].a.ws", Action::Create, &[]),
            change("module.env[\"b\"].a.ws", Action::Create, &[]),
            change(
                "module.env[\"a\"].a.ep",
                Action::Create,
                &["module.env.a.ws"],
            ),
            change(
                "module.env[\"b\"].a.ep",
                Action::Create,
                &["module.env.a.ws"],
            ),
            change("a.shared", Action::Create, &[]),
            // Inside every env instance, a nested module reading the root's resource.
            change(
                "module.env[\"a\"].module.m.a.x",
                Action::Create,
                &["a.shared", "module.env.a.ws"],
            ),
            // The root reading every instance of a module.
            change("a.summary", Action::Create, &["module.env.a.ep"]),
        ];
        let (_, waits) = steps(&changes);
        assert_eq!(waits[2], vec![0]);
        assert_eq!(waits[3], vec![1]);
        assert_eq!(waits[5], vec![0, 4]);
        assert_eq!(waits[6], vec![2, 3]);
    }
}
