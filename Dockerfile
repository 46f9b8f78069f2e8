# One image for every Coffer role: `coffer serve|s3server|mdserver|dataserver|dmd`.
FROM python:3.11-slim

RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/coffer coffer \
 && install -d -m 0700 -o coffer -g coffer /data /metadata

WORKDIR /opt/coffer
COPY pyproject.toml README.md ./
COPY services ./services
COPY shared ./shared
COPY s3front ./s3front
COPY dmd ./dmd
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER coffer
ENV S3DATAPATH=/data S3METADATAPATH=/metadata
EXPOSE 8000 9990 9991
ENTRYPOINT ["coffer"]
CMD ["serve"]
