"""The merchant console's hosting, merged into the stage's template beside the API.

- `ConsoleBucket`: a private S3 bucket (all public access blocked, owner-enforced, encrypted) that
  holds the built console (`console/dist`) and its `config.json`;
- `ConsoleDistribution`: a CloudFront distribution serving the bucket over HTTPS only (HTTP is
  redirected), compressed, with AWS's managed caching and security-header policies; it reads the
  bucket through an origin access control (`ConsoleOriginAccessControl`), and the bucket policy lets
  only this distribution read it;
- the API function's `CORS_ORIGINS` set to the distribution's origin, so the console (a client of
  the merchant API like any other, on another origin) may call it;
- outputs `ConsoleURL` and `ConsoleBucketName`.

The files are uploaded after the stack is deployed (README, "Deployment"): `console/dist` as built by
`make console`, then `config.json` = `{"api_base": "<the stack's EndpointURL without the slash>"}`,
which the console reads at start to find the API. Hashed assets are cached by CloudFront for good;
`index.html` and `config.json` are uploaded with `Cache-Control: no-cache`.
"""
from __future__ import annotations

from typing import Any

from chalice.package import TemplateDeepMerger

from infra import access

Template = dict[str, Any]

BUCKET = "ConsoleBucket"
BUCKET_POLICY = "ConsoleBucketPolicy"
ORIGIN_ACCESS = "ConsoleOriginAccessControl"
DISTRIBUTION = "ConsoleDistribution"
ORIGIN_ID = "console-bucket"
# AWS's managed CloudFront policies: "CachingOptimized" and "SecurityHeadersPolicy".
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
CONSOLE_ORIGIN = {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}"}


def with_console(fragment: Template) -> Template:
    """`fragment` (a merge template for `chalice package`) with the console's hosting merged in as
    chalice merges a template: `merge(extra, base)`, dicts key by key, the extra's values winning."""
    return TemplateDeepMerger().merge({
        "Resources": {
            BUCKET: _bucket(),
            BUCKET_POLICY: _bucket_policy(),
            ORIGIN_ACCESS: _origin_access(),
            DISTRIBUTION: _distribution(),
            access.function_resource(access.API_FUNCTION): {
                "Properties": {"Environment": {"Variables": {"CORS_ORIGINS": CONSOLE_ORIGIN}}}},
        },
        "Outputs": {
            "ConsoleURL": {"Description": "The merchant console", "Value": {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}/"}},
            "ConsoleBucketName": {"Description": "Upload console/dist and config.json here", "Value": {"Ref": BUCKET}},
        },
    }, fragment)


def _bucket() -> Template:
    """The private bucket of the built files; they are rebuilt from the repo, but the bucket is kept
    with the stack's other stores when the stack goes."""
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": (
            "Only the console's distribution reads it (the bucket policy); its objects are the public build "
            "of console/, so a second bucket of access logs would record nothing worth keeping")}]}},
        "Properties": {
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
            ]},
        },
    }


def _bucket_policy() -> Template:
    """Only this distribution (signing through its origin access control) reads the bucket."""
    distribution_arn = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{DISTRIBUTION}}}",
    }
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "ConsoleDistributionReads",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": f"${{{BUCKET}.Arn}}/*"},
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            }]},
        },
    }


def _origin_access() -> Template:
    """CloudFront signs its requests to the bucket (SigV4)."""
    return {
        "Type": "AWS::CloudFront::OriginAccessControl",
        "Properties": {"OriginAccessControlConfig": {
            "Name": {"Fn::Sub": "${AWS::StackName}-console"},
            "OriginAccessControlOriginType": "s3",
            "SigningBehavior": "always",
            "SigningProtocol": "sigv4",
        }},
    }


def _distribution() -> Template:
    """HTTPS only, index.html at the root (the console routes by the URL's hash: no rewrites)."""
    return {
        "Type": "AWS::CloudFront::Distribution",
        "Metadata": {"checkov": {"skip": [
            {"id": "CKV_AWS_68", "comment": (
                "Serves static files only (GET/HEAD from a private bucket); every request that reaches data "
                "goes to the API, which checks the admin key, so a web ACL here would guard nothing")},
            {"id": "CKV_AWS_86", "comment": (
                "Static files only: the API's access logs record every call the console makes")},
            {"id": "CKV_AWS_174", "comment": (
                "The default *.cloudfront.net certificate, whose TLS policy CloudFront sets; TLSv1.2_2021 "
                "needs a custom domain and its ACM certificate")},
        ]}},
        "Properties": {"DistributionConfig": {
            "Enabled": True,
            "Comment": {"Fn::Sub": "${AWS::StackName} merchant console"},
            "DefaultRootObject": "index.html",
            "HttpVersion": "http2and3",
            "Origins": [{
                "Id": ORIGIN_ID,
                "DomainName": {"Fn::GetAtt": [BUCKET, "RegionalDomainName"]},
                "OriginAccessControlId": {"Fn::GetAtt": [ORIGIN_ACCESS, "Id"]},
                "S3OriginConfig": {"OriginAccessIdentity": ""},
            }],
            "DefaultCacheBehavior": {
                "TargetOriginId": ORIGIN_ID,
                "ViewerProtocolPolicy": "redirect-to-https",
                "AllowedMethods": ["GET", "HEAD"],
                "CachedMethods": ["GET", "HEAD"],
                "Compress": True,
                "CachePolicyId": CACHING_OPTIMIZED,
                "ResponseHeadersPolicyId": SECURITY_HEADERS,
            },
        }},
    }
