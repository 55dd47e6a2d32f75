<?php
# The local wiki's additions to the LocalSettings.php that install.php writes.
# LocalWiki.install() appends this file (without its first line) to that
# LocalSettings.php, so __DIR__ below is the wiki's own directory.

# --- commons-nsfw-bot local wiki ---
$wgUploadDirectory = __DIR__ . "/images";
$wgUploadPath = "/images";
$wgTmpDirectory = __DIR__ . "/tmp";
$wgCacheDirectory = __DIR__ . "/cache";
$wgEnableUploads = true;
$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'webp', 'svg', 'webm', 'ogv', 'ogg', 'oga',
                      'mpg', 'mpeg', 'pdf', 'tif', 'tiff' ];
$wgStrictFileExtensions = false;
$wgVerifyMimeType = true;
$wgMaxUploadSize = 100 * 1024 * 1024;
$wgUseImageMagick = true;
# Not the first `convert` on PATH: this machine may have a stand-in earlier on it.
$wgImageMagickConvertCommand = '/usr/bin/convert';
$wgSVGConverter = 'rsvg';
$wgEnableEmail = false;
$wgEnableUserEmail = false;
# Thumbnails are rendered on first request by thumb_handler.php, as on Commons.
$wgGenerateThumbnailOnParse = false;
$wgThumbnailEpoch = '20000101000000';
# Without it even bots hit `ratelimited` after ~90 edits a minute.
$wgGroupPermissions['*']['noratelimit'] = true;
$wgGroupPermissions['*']['createaccount'] = false;
$wgGroupPermissions['patroller']['patrol'] = true;
$wgGroupPermissions['patroller']['autopatrol'] = true;
# Commons' group for trusted uploaders: their own uploads skip patrol.
$wgGroupPermissions['autopatrolled']['autopatrol'] = true;
$wgUseRCPatrol = true;
$wgUseFilePatrol = true;
$wgShowExceptionDetails = true;
$wgDebugLogFile = __DIR__ . "/debug.log";
$wgDebugLogGroups = [];
# The built-in server runs no jobs; tests run them with maintenance/runJobs.php.
$wgJobRunRate = 0;
$wgLogos = [ '1x' => "$wgResourceBasePath/resources/assets/change-your-logo.svg" ];
