//! A runbook as a picture: `rbk graph` draws it for docs and reviews, the web page shows it
//! beside a run. [`RunbookGraph`] is the model (built from the checked program); it renders
//! to Mermaid, Graphviz DOT and a self-contained SVG, all drawing the same boxes and arrows.

mod dot;
mod flow;
mod mermaid;
mod model;
mod svg;

pub use model::{ActionNode, Expectation, Gate, Node, RunbookGraph, StepNode};
