//! Generates the hstry gRPC *server* side from the server's
//! `proto/hstry.proto`, for the loopback hstry the tests run.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // SAFETY: the build script has started no other threads.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    println!("cargo:rerun-if-changed=../server/proto/hstry.proto");
    tonic_prost_build::configure()
        .build_client(false)
        .compile_protos(&["../server/proto/hstry.proto"], &["../server/proto"])?;
    Ok(())
}
