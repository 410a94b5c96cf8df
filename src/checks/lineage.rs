//! Graph rules: package lineage cycles. Sources resolve within a license; a package that
//! is its own ancestor (any cycle, not a depth limit; a self-loop too) is one finding.

use std::collections::HashMap;

use polars::prelude::*;

use crate::error::{PolarsContext, Result};

/// `lineage.cycle` rows: license, package_label, related_label, detail, source_file, record.
pub fn cycles(packages: LazyFrame, sources: LazyFrame) -> Result<DataFrame> {
    let edges = sources.select([col("license"), col("label"), col("source_label")]).join(
        packages.clone().select([col("license"), col("label").alias("source_label")]),
        [col("license"), col("source_label")],
        [col("license"), col("source_label")],
        JoinArgs::new(JoinType::Semi),
    );
    // Only a package that is both a child and a source can lie on a cycle: dropping edges
    // into roots and out of leaves first leaves the graph walk a small fraction of the
    // lineage (harvest batches have no sources, retail jars have no children).
    let key = [col("license"), col("label")];
    let as_source = edges.clone().select([col("license"), col("source_label").alias("label")]);
    let as_child = edges.clone().select([col("license"), col("label").alias("source_label")]);
    let edges = edges
        .join(as_source, key.clone(), key, JoinArgs::new(JoinType::Semi))
        .join(
            as_child,
            [col("license"), col("source_label")],
            [col("license"), col("source_label")],
            JoinArgs::new(JoinType::Semi),
        )
        .sort_by_exprs(
            [col("license"), col("label"), col("source_label")],
            SortMultipleOptions::default(),
        )
        .collect()
        .ctx(|| "lineage edges".into())?;
    let lic = edges.column("license").ctx(|| "license".into())?.str().ctx(|| "license".into())?;
    let child = edges.column("label").ctx(|| "label".into())?.str().ctx(|| "label".into())?;
    let parent = edges
        .column("source_label")
        .ctx(|| "source_label".into())?
        .str()
        .ctx(|| "source_label".into())?;

    // Node ids per (license, label).
    let mut ids: HashMap<(&str, &str), usize> = HashMap::new();
    let mut names: Vec<(&str, &str)> = Vec::new();
    let mut adj: Vec<Vec<usize>> = Vec::new();
    for i in 0..edges.height() {
        let (Some(l), Some(c), Some(p)) = (lic.get(i), child.get(i), parent.get(i)) else {
            continue;
        };
        let mut node = |label| {
            *ids.entry((l, label)).or_insert_with(|| {
                names.push((l, label));
                adj.push(Vec::new());
                names.len() - 1
            })
        };
        let a = node(c);
        let b = node(p);
        adj[a].push(b);
    }
    let comp = tarjan(&adj);
    // Size of each strongly connected component.
    let mut size: HashMap<usize, usize> = HashMap::new();
    for &c in &comp {
        *size.entry(c).or_default() += 1;
    }
    let mut out_lic = Vec::new();
    let mut out_label = Vec::new();
    let mut out_rel = Vec::new();
    let mut out_detail = Vec::new();
    for (v, succ) in adj.iter().enumerate() {
        let in_cycle = size[&comp[v]] > 1 || succ.contains(&v);
        if !in_cycle {
            continue;
        }
        // The next package round the cycle: the smallest source label in the same component.
        let next = succ.iter().filter(|&&w| comp[w] == comp[v]).map(|&w| names[w].1).min();
        let n = size[&comp[v]];
        out_lic.push(names[v].0.to_owned());
        out_label.push(names[v].1.to_owned());
        out_rel.push(next.map(str::to_owned));
        out_detail.push(if n == 1 {
            "package lists itself as its own source".to_owned()
        } else {
            format!(
                "package is its own ancestor: a cycle of {n} packages through source {}",
                next.unwrap_or("?")
            )
        });
    }
    let n = out_lic.len();
    let found = DataFrame::new(
        n,
        vec![
            Column::new("license".into(), out_lic),
            Column::new("package_label".into(), out_label),
            Column::new("related_label".into(), out_rel),
            Column::new("detail".into(), out_detail),
        ],
    )
    .ctx(|| "cycle findings".into())?;
    // Source file and record of the package (latest copy).
    found
        .lazy()
        .join(
            packages.select([
                col("license"),
                col("label").alias("package_label"),
                col("source_file"),
                col("record"),
            ]),
            [col("license"), col("package_label")],
            [col("license"), col("package_label")],
            JoinArgs::new(JoinType::Left),
        )
        .collect()
        .ctx(|| "cycle findings".into())
}

/// Strongly connected components (iterative Tarjan): component id per node.
fn tarjan(adj: &[Vec<usize>]) -> Vec<usize> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_comp = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next successor position)
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            if *pos < adj[v].len() {
                let w = adj[v][*pos];
                *pos += 1;
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp[w] = next_comp;
                        if w == v {
                            break;
                        }
                    }
                    next_comp += 1;
                }
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarjan_finds_cycles_not_paths_between_them() {
        // 0→1→2→0 is a cycle; 2→3; 3→4→3 a second cycle; 5 alone; 6→6 self-loop.
        let adj = vec![vec![1], vec![2], vec![0, 3], vec![4], vec![3], vec![], vec![6]];
        let c = tarjan(&adj);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_eq!(c[3], c[4]);
        assert_ne!(c[2], c[3]);
        assert_ne!(c[5], c[0]);
    }

    #[test]
    fn tarjan_follows_every_source_of_a_package() {
        // 0's first source (1) is a dead end; the cycle closes through its second (2).
        let adj = vec![vec![1, 2], vec![], vec![0]];
        let c = tarjan(&adj);
        assert_eq!(c[0], c[2]);
        assert_ne!(c[0], c[1]);
        // three packages each with two sources, the cycle through the last of each
        let adj = vec![vec![3, 1], vec![4, 2], vec![5, 0], vec![], vec![], vec![]];
        let c = tarjan(&adj);
        assert!(c[0] == c[1] && c[1] == c[2]);
        assert!((3..6).all(|i| c[i] != c[0]));
    }

    #[test]
    fn tarjan_handles_a_long_chain_without_recursion() {
        let n = 200_000;
        let mut adj: Vec<Vec<usize>> = (0..n).map(|i| vec![i + 1]).collect();
        adj.push(vec![0]);
        let c = tarjan(&adj);
        assert!(c.iter().all(|&x| x == c[0]));
    }
}
