# The driftwarden operator image: `docker build -t driftwarden:0.1.0 .`
# The chart's default image is `driftwarden:<appVersion>`; push it where your nodes pull
# from and set image.repository (and image.tag or image.digest) to match.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY benches ./benches
COPY examples/quickstart ./examples/quickstart
RUN cargo build --release --locked --bin driftwarden

# A minimal base with glibc and CA certificates, no shell, running as nonroot.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/driftwarden /usr/local/bin/driftwarden
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/driftwarden"]
CMD ["run"]
