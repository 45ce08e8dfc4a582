pub mod reference_keys;
