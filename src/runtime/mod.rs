//! The only layer that touches the kernel (see DESIGN.md): everything here makes system
//! calls that the pure layers above never make themselves.

pub mod fs;
