//! The order an apply carries changes out in: which step waits for which.
//!
//! Most changes are one step. A destroy-then-create replacement is two, its destroy and its
//! create, because the two halves order differently against their neighbours: what is made
//! waits for what it depends on to be made, and what is removed waits for whatever depended
//! on it to be removed first. Replacing an endpoint together with the service instance on it
//! therefore goes instance destroy, endpoint destroy, endpoint create, instance create, the
//! only order in which a cloud that refuses to delete a parent still in use accepts it.
//!
//! A create-first (`create_before_destroy`) replacement is two steps as well: its create,
//! which deposes the old object in state and makes the new one, and its destroy, which
//! destroys the deposed object. That destroy waits for its own create, for the making steps
//! of every change that depends on the resource (they move onto the new object) and for the
//! removing steps of its dependents (their old objects used the old one): Terraform's order,
//! create new `a`, create or update what uses it, destroy their old objects, destroy old `a`.
//! The delete of a deposed object an earlier run left orders the same way.

use std::collections::BTreeMap;

use inferform_types::ResourceAddr;

use crate::plan::ResourceChange;
use crate::Action;

/// Which part of its change a step carries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// The whole change.
    Whole,
    /// The destroy half of a replacement (of a create-first one: of its deposed object).
    Destroy,
    /// The create half of a replacement.
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
        Action::Replace { .. } => Some(Part::Create),
        _ => Some(Part::Whole),
    }
}

/// The step that removes a change's old object while others may still use it, if any.
fn removing(change: &ResourceChange) -> Option<Part> {
    match change.action {
        Action::Delete => Some(Part::Whole),
        Action::Replace { .. } => Some(Part::Destroy),
        _ => None,
    }
}

/// Whether the change removes an object whose replacement already stands (the destroy of a
/// create-first replacement, or of a deposed object): it waits for its dependents to be made
/// too, since they move from the old object onto the new one.
fn removes_replaced(change: &ResourceChange) -> bool {
    change.deposed.is_some() || change.action == Action::Replace { create_first: true }
}

/// Whether the change removes the address's current object, or forgets it: its record must
/// outlive the address's deposed objects, which it holds.
fn ends_record(change: &ResourceChange) -> bool {
    change.deposed.is_none()
        && matches!(
            change.action,
            Action::Delete
                | Action::Forget
                | Action::Replace {
                    create_first: false
                }
        )
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
            Action::Replace { create_first: true } => {
                add(&mut steps, i, Part::Create);
                add(&mut steps, i, Part::Destroy);
            }
            _ => add(&mut steps, i, Part::Whole),
        }
    }
    let step = |change: usize, part: Part| index[&(change, part)];
    let mut waits = vec![Vec::new(); steps.len()];
    for (i, c) in changes.iter().enumerate() {
        match c.action {
            // A destroy-first replacement's create waits for its own destroy.
            Action::Replace {
                create_first: false,
            } => waits[step(i, Part::Create)].push(step(i, Part::Destroy)),
            // A create-first replacement's destroy waits for its own create.
            Action::Replace { create_first: true } => {
                waits[step(i, Part::Destroy)].push(step(i, Part::Create))
            }
            _ => {}
        }
    }
    // A deposed object's delete goes before whatever ends its address's record, which holds
    // it. Such a delete then cannot also wait for its dependents to be made: those wait for
    // the address's own new object, made after the record ends.
    let mut record_ends = BTreeMap::new();
    for (i, c) in changes.iter().enumerate() {
        if c.deposed.is_none() {
            continue;
        }
        for (j, other) in changes.iter().enumerate() {
            if other.addr == c.addr && ends_record(other) {
                let pj = removing(other).unwrap_or(Part::Whole);
                waits[step(j, pj)].push(step(i, Part::Whole));
                record_ends.insert(i, ());
            }
        }
    }
    for (i, j) in depends_on(changes) {
        let (ci, cj) = (&changes[i], &changes[j]);
        if let (Some(pi), Some(pj)) = (making(ci), making(cj)) {
            waits[step(i, pi)].push(step(j, pj));
        }
        // i depends on j and both lose their old object: i's goes first. (Not when i's old
        // object goes once its replacement stands and j is replaced destroy-first: i's new
        // object waits for j's, made after j's old one goes.)
        let first_over_destroy_first = removes_replaced(ci)
            && cj.action
                == Action::Replace {
                    create_first: false,
                };
        if let (Some(pi), Some(pj)) = (removing(ci), removing(cj)) {
            if !first_over_destroy_first {
                waits[step(j, pj)].push(step(i, pi));
            }
        }
        // j's old object goes only once its replacement stands; i moves onto that first.
        if let (Some(pi), Some(pj)) = (making(ci), removing(cj)) {
            if removes_replaced(cj) && !record_ends.contains_key(&j) {
                waits[step(j, pj)].push(step(i, pi));
            }
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
            deposed: None,
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
    fn a_replaced_parent_waits_for_deleted_dependents_and_a_create_first_dependent() {
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
                ("a.si/create", &["a.ep/create"]),
                ("a.si/destroy", &["a.si/create"]),
            ])
        );
    }

    fn deposed(addr: &str, key: &str, deps: &[&str]) -> ResourceChange {
        ResourceChange {
            deposed: Some(key.into()),
            ..change(addr, Action::Delete, deps)
        }
    }

    #[test]
    fn a_create_first_chain_destroys_old_objects_once_their_dependents_moved_on() {
        let cbd = Action::Replace { create_first: true };
        let changes = vec![
            change("a.ep", cbd, &[]),
            change("a.si", cbd, &["a.ep"]),
            change("a.watch", Action::Update, &["a.si"]),
        ];
        assert_eq!(
            named(&changes),
            pairs(&[
                ("a.ep/create", &[]),
                (
                    "a.ep/destroy",
                    &["a.ep/create", "a.si/create", "a.si/destroy"]
                ),
                ("a.si/create", &["a.ep/create"]),
                ("a.si/destroy", &["a.si/create", "a.watch"]),
                ("a.watch", &["a.si/create"]),
            ])
        );
    }

    #[test]
    fn a_deposed_object_goes_after_its_dependents_and_before_its_record_ends() {
        let changes = vec![
            // Left by an earlier run, while its address is now deleted.
            deposed("a.ep", "1f2e3d4c", &[]),
            change("a.ep", Action::Delete, &[]),
            deposed("a.ws", "00aa11bb", &[]),
            change("a.ws", Action::Update, &[]),
            change("a.si", Action::Update, &["a.ws"]),
            change("a.old", Action::Delete, &["a.ws"]),
        ];
        assert_eq!(
            named(&changes),
            pairs(&[
                ("a.ep", &[]),
                ("a.ep", &["a.ep"]),
                ("a.ws", &["a.si", "a.old"]),
                ("a.ws", &[]),
                ("a.si", &["a.ws"]),
                ("a.old", &[]),
            ])
        );
        let (_, waits) = steps(&changes);
        // The record's delete waits for the deposed object's, not the other way round.
        assert_eq!(waits[1], vec![0]);
        assert!(waits[0].is_empty());
        // The deposed `a.ws` waits for `a.si`'s update (index 4) and `a.old`'s delete (5).
        assert_eq!(waits[2], vec![4, 5]);
        assert_eq!(waits[4], vec![3]);
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
