//! README.md shows `examples/async_std_hello_i2p.rs` as it is (everything after its `//!` header), so
//! the README's example is code that compiles (cargo test builds the examples).

#[test]
fn the_readme_shows_the_hello_example() {
    let example = include_str!("../examples/async_std_hello_i2p.rs");
    let code: String = example
        .split_inclusive('\n')
        .skip_while(|line| line.starts_with("//!"))
        .collect();
    let block = format!("```rust\n{code}```\n");
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&block),
        "README.md does not show examples/async_std_hello_i2p.rs as it is:\n{block}"
    );
}
