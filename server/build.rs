//! Generates the hstry gRPC client from `proto/hstry.proto`, with the protoc
//! that `protoc-bin-vendored` ships (or `PROTOC` when set).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // SAFETY: the build script has started no other threads.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    println!("cargo:rerun-if-changed=proto/hstry.proto");
    tonic_prost_build::configure().build_server(false).compile_protos(&["proto/hstry.proto"], &["proto"])?;
    Ok(())
}
